"""Words for a Dosage that came without text ("1 tablet 2 times per day as needed"), for cards."""

from __future__ import annotations

from typing import Any

from app.normalize.sig.structured import items, obj, per_day, positive, text

_UNIT_WORDS = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def _times(per_day_: float) -> str:
    if per_day_ == 1:
        return "once per day"
    if per_day_ < 1:
        return f"every {_fmt(1 / per_day_)} days"
    return f"{_fmt(per_day_)} times per day"


def _period(freq: float, period: float, unit: Any) -> str:
    word = _UNIT_WORDS.get(str(unit), str(unit))
    if period == 1:
        return "once per " + word if freq == 1 else f"{_fmt(freq)} times per {word}"
    every = f"every {_fmt(period)} {word}s"
    return every if freq == 1 else f"{_fmt(freq)} times {every}"


def _timing_words(timing: Any) -> str | None:
    t = obj(timing) or {}
    repeat = obj(t.get("repeat")) or {}
    freq = positive(repeat.get("frequency")) if "frequency" in repeat else 1.0
    period = positive(repeat.get("period"))
    unit = repeat.get("periodUnit", repeat.get("periodUnits"))
    if freq and period and type(unit) is str:
        return _period(freq, period, unit)
    found = per_day(t)
    return _times(found.hi) if found is not None and found.exact else None


def _amount_words(dosage: dict[str, Any]) -> str | None:
    for holder in (*(obj(x) for x in items(dosage.get("doseAndRate"))), dosage):
        q = obj((holder or {}).get("doseQuantity"))
        value = positive(q.get("value")) if q else None
        if q is None or value is None:
            continue
        code = (text(q.get("code")) or "").strip("{}")
        unit = text(q.get("unit")) or (code if code and code != "1" else None)
        return f"{_fmt(value)} {unit.strip('{}') if unit else 'dose'}"
    return None


def describe(dosage: dict[str, Any], as_needed: bool) -> str | None:
    """A plain phrase from the structured fields; None when there is nothing to say."""
    parts = [p for p in (_amount_words(dosage), _timing_words(dosage.get("timing"))) if p]
    if not parts:
        return "as needed" if as_needed else None
    return " ".join(parts + (["as needed"] if as_needed else []))
