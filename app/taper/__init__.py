"""Taper schedule engine: pure functions from an exact daily dose to a dispensable, dated plan.

The card (app/cards/taper.py), its CarePlan and the taper planner page all render from
``plan_taper``; nothing here reads the network, the disk at call time, or the clock.
"""

from app.taper.constants import LONG_ACTING_TARGETS
from app.taper.model import (
    Administration,
    Form,
    Pace,
    PaceSummary,
    Piece,
    Product,
    Step,
    StepKind,
    Switch,
    TaperPlan,
    TaperRequest,
    Unplanned,
)
from app.taper.plan import plan_taper
from app.taper.products import LIQUID, form_of
from app.taper.text import how_text, mg, step_text

__all__ = [
    "LIQUID",
    "LONG_ACTING_TARGETS",
    "Administration",
    "Form",
    "Pace",
    "PaceSummary",
    "Piece",
    "Product",
    "Step",
    "StepKind",
    "Switch",
    "TaperPlan",
    "TaperRequest",
    "Unplanned",
    "form_of",
    "how_text",
    "mg",
    "plan_taper",
    "step_text",
]
