"""Move every FHIR date in a JSON document by a number of days, keeping all intervals.

Fixtures are written for one day; moving each date by the same number of days keeps every
interval (how long a drug has been taken, when a supply ends) and so keeps the cards they show.
Birth dates move too, so ages stay as written (within a day around a birthday).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

# A whole value that is a FHIR date or dateTime with a day: shifted wherever it appears.
_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(T.*)?$")
# Year or year-month: shifted only under a key that names a date (codes such as "1010" exist).
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
# Values that only look like dates: ids and references must keep matching each other.
_NEVER = frozenset(
    {"id", "reference", "fullUrl", "url", "system", "code", "hookInstance", "version", "value"}
)
_DATE_KEYS = frozenset(
    {
        "start",
        "end",
        "authoredOn",
        "issued",
        "recorded",
        "lastUpdated",
        "created",
        "instant",
        "timestamp",
    }
)


def _is_date_key(key: str) -> bool:
    return key in _DATE_KEYS or "date" in key.lower()


def shift_value(value: str, days: int, *, date_key: bool) -> str:
    """`value` moved by `days` when it is a date; any other string is returned unchanged."""
    if full := _FULL.match(value):
        try:
            day = date(int(full[1]), int(full[2]), int(full[3]))
        except ValueError:
            return value
        return (day + timedelta(days=days)).isoformat() + (full[4] or "")
    if date_key and (partial := _PARTIAL.match(value)):
        # Move the middle of the month (or year) so the precision stays what it was.
        year, month = int(partial[1]), partial[2]
        try:
            middle = date(year, int(month), 15) if month else date(year, 7, 2)
        except ValueError:
            return value
        moved = middle + timedelta(days=days)
        return f"{moved.year:04d}-{moved.month:02d}" if month else f"{moved.year:04d}"
    return value


def shift_dates(document: Any, days: int, key: str = "") -> Any:
    """A copy of `document` with every date moved by `days` (0 returns an equal copy)."""
    if isinstance(document, dict):
        return {k: (v if k in _NEVER else shift_dates(v, days, k)) for k, v in document.items()}
    if isinstance(document, list):
        return [shift_dates(item, days, key) for item in document]
    if isinstance(document, str) and days:
        return shift_value(document, days, date_key=_is_date_key(key))
    return document
