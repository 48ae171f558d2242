"""FHIR date, dateTime and Duration parsing without validation libraries."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Any

from app.normalize.errors import Malformed

# FHIR date / dateTime / instant: YYYY, YYYY-MM, YYYY-MM-DD, optionally followed by a time.
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.+\-Z]*)?$")

# Days per UCUM / plain-English duration unit. CDC Opioid CDS "GetDurationInDays"
# (OpioidCDSCommon.cql) converts mo = 30 d and a = 365 d; we follow it.
DAYS_PER_UNIT: dict[str, float] = {
    "s": 1 / 86400,
    "sec": 1 / 86400,
    "second": 1 / 86400,
    "seconds": 1 / 86400,
    "min": 1 / 1440,
    "minute": 1 / 1440,
    "minutes": 1 / 1440,
    "h": 1 / 24,
    "hr": 1 / 24,
    "hour": 1 / 24,
    "hours": 1 / 24,
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "wk": 7.0,
    "week": 7.0,
    "weeks": 7.0,
    "mo": 30.0,
    "month": 30.0,
    "months": 30.0,
    "a": 365.0,
    "yr": 365.0,
    "year": 365.0,
    "years": 365.0,
}


def parse_date(value: Any, *, end: bool = False) -> date | None:
    """A FHIR date or dateTime as a calendar date; None when absent, Malformed when unreadable.

    The date part is taken as written (no time-zone shift). A partial date stands for its first
    day, or its last day when ``end`` is true (so a period ending "2024-03" covers all of March).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed("date is not a string")
    if (
        len(value) >= 10
        and value[4] == "-"
        and value[7] == "-"
        and (len(value) == 10 or value[10] == "T")
    ):
        try:  # fast path for full dates and dateTimes
            return date.fromisoformat(value[:10])
        except ValueError as exc:
            raise Malformed("impossible date") from exc
    match = _DATE_RE.match(value.strip())
    if match is None:
        raise Malformed("unreadable date")
    year, month, day = match.groups()
    try:
        y = int(year)
        if month is None:
            return date(y, 12, 31) if end else date(y, 1, 1)
        m = int(month)
        if day is None:
            return date(y, m, calendar.monthrange(y, m)[1]) if end else date(y, m, 1)
        return date(y, m, int(day))
    except ValueError as exc:
        raise Malformed("impossible date") from exc


def period_bounds(period: Any) -> tuple[date | None, date | None]:
    """(start, end) of a FHIR Period; (None, None) when absent."""
    if period is None:
        return None, None
    if not isinstance(period, dict):
        raise Malformed("period is not an object")
    return parse_date(period.get("start")), parse_date(period.get("end"), end=True)


def duration_days(duration: Any) -> float | None:
    """A FHIR Duration/Quantity in days (code first, then unit); None if absent or unknown unit."""
    if duration is None:
        return None
    if not isinstance(duration, dict):
        raise Malformed("duration is not an object")
    value = duration.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("duration value is not a number")
    for key in ("code", "unit"):
        unit = duration.get(key)
        if isinstance(unit, str):
            factor = DAYS_PER_UNIT.get(unit.strip().lower())
            if factor is not None:
                return float(value) * factor
    return None


def add_days(start: date, days: float) -> date:
    """start + days, rounding a part day up (a 36-hour supply still reaches the second day)."""
    whole = int(days)
    if days > whole:
        whole += 1
    return start + timedelta(days=whole)


def age_in_years(birth: date, today: date) -> int:
    """Whole years completed at ``today`` (a 29 February birthday falls on 1 March)."""
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years
