"""CDS Hooks feedback: request models, storage, snooze and per-rule reports."""

from app.feedback.db import make_engine
from app.feedback.models import FeedbackItem, parse_feedback
from app.feedback.report import RuleStats
from app.feedback.snooze import drugs_key, is_snoozed, patient_key
from app.feedback.store import FeedbackStore, IssuedCard

__all__ = [
    "FeedbackItem",
    "FeedbackStore",
    "IssuedCard",
    "RuleStats",
    "drugs_key",
    "is_snoozed",
    "make_engine",
    "parse_feedback",
    "patient_key",
]
