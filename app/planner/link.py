"""The taper card's link to the planner: drug, form, strength, confirmed dose, start and pace only.

Never a patient identifier, never an unconfirmed dose: a dose that is not exact (a range, as
needed, unknown) is left out and the planner asks for it (DESIGN.md "Reading real data").
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode, urlsplit, urlunsplit

from app.config import Settings
from app.planner.query import forms_of
from app.record import MedicationUse
from app.taper import LIQUID, Form, Pace, form_of, mg
from app.taper import products as taper_products

PATH = "/taper-planner"
LABEL = "Open the taper planner: adjust the pace, print the patient's handout"


def base_url(url: str) -> str:
    """scheme://host[:port][/root] of a request's base URL, without userinfo or query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def with_public_base(settings: Settings, request_base: str) -> Settings:
    """Settings whose public_base_url is set: as configured, else this request's base URL."""
    if settings.public_base_url:
        return settings
    return settings.model_copy(update={"public_base_url": base_url(request_base)})


def _exact(value: float | None) -> str | None:
    """The number as the planner reads it, only when that text is the same number."""
    if value is None or value <= 0:
        return None
    text = mg(value)
    return text if float(text) == value and float(text) <= 1000 else None


def planner_url(settings: Settings, med: MedicationUse, starts: date) -> str | None:
    """The planner link for ``med``; None without a public base URL or a drug it can plan."""
    base = (settings.public_base_url or "").rstrip("/")
    ingredient = (med.ingredient or "").strip().lower()
    if not base or taper_products.drug(ingredient) is None:
        return None
    pairs = [("drug", ingredient)]
    form = form_of(med.name)
    if form == LIQUID or (isinstance(form, Form) and form.value in forms_of(ingredient)):
        pairs.append(("form", form.value if isinstance(form, Form) else LIQUID))
    strength = _exact(med.strength_mg) if (med.strength_unit or "mg").lower() == "mg" else None
    if strength:
        pairs.append(("strength", strength))
    dose = _exact(med.exact_dose_mg)
    if dose:
        pairs.append(("dose", dose))
    pairs += [("start", starts.isoformat()), ("pace", Pace.STANDARD.value)]
    return f"{base}{PATH}?{urlencode(pairs)}"
