"""Patient.birthDate -> (birth date, age in whole years)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.normalize.dates import age_in_years, parse_date
from app.normalize.errors import Malformed


def birth_and_age(
    patient: dict[str, Any] | None, today: date, skip: Callable[[str], None]
) -> tuple[date | None, int | None]:
    """Birth date and age at ``today``; (None, None) when absent or unreadable (counted).

    A partial birthDate ("1958" or "1958-07") is read as its FIRST possible day, so the age is
    the oldest the patient can be: the age-gated rules (Beers from 65) then err towards showing
    the caution rather than hiding it. A deceased patient's age is still computed at ``today``:
    the record describes the evaluation date, and rules do not run on deceased patients' orders.
    """
    if not isinstance(patient, dict):
        return None, None
    try:
        birth = parse_date(patient.get("birthDate"))
    except Malformed:
        skip("Patient: unreadable birthDate")
        return None, None
    if birth is None:
        return None, None
    if birth > today:
        skip("Patient: birthDate after evaluation date")
        return None, None
    return birth, age_in_years(birth, today)
