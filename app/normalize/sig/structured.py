"""A FHIR Dosage's structured fields (R4 doseAndRate; DSTU2/STU3 dose on the Dosage; R5
asNeeded and list maxDosePerPeriod) -> amounts, times a day, caps. Never raises: a field of
the wrong type is simply not read.

Where the Dosage gives a range (frequencyMax, periodMax, doseRange) both ends are kept; CDC
MMECalculator.cql (cqframework/opioid-mme-r4) takes the most aggressive end for MME.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.normalize.dates import DAYS_PER_UNIT, parse_date
from app.normalize.errors import Malformed
from app.normalize.sig import vocab as v
from app.normalize.sig.model import MG_PER_H, OTHER, UNITLESS, Amount, Span
from app.normalize.sig.text import timing_text

_Q_HOURS = re.compile(r"^Q(\d+(?:\.\d+)?)H$")
_SNOMED = "snomed"


def obj(value: Any) -> dict[str, Any] | None:
    return value if type(value) is dict else None


def items(value: Any) -> list[Any]:
    """A repeating element as a list; a lone object is accepted, anything else is nothing."""
    if type(value) is list:
        return value
    return [value] if type(value) is dict else []


def text(value: Any) -> str | None:
    return value.strip() or None if type(value) is str else None


def positive(value: Any) -> float | None:
    """A finite number > 0 (JSON allows NaN and 1e999 through Python's parser; bools are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _unit(q: dict[str, Any]) -> str:
    """The unit as the vocabulary knows it; "" when none is given, OTHER when not known."""
    code = (text(q.get("code")) or "").strip("{}").lower()
    human = (text(q.get("unit")) or "").strip("{}").lower()
    # UCUM writes a count as "1" or "{tbl}"; a human unit beside a "1" says which count.
    for candidate in (code, human):
        if candidate and candidate != "1" and candidate in v.UNITS:
            return candidate
    if "1" in (code, human):
        return "1"
    return "" if not code and not human else OTHER


def quantity(value: Any) -> Amount | None:
    q = obj(value)
    amount = positive(q.get("value")) if q else None
    if q is None or amount is None:
        return None
    unit = _unit(q)
    if unit in ("", OTHER):
        return Amount(Span.of(amount), UNITLESS if unit == "" else OTHER)
    kind, factor = v.UNITS[unit]
    return Amount(Span.of(amount * factor), kind)


def _days(value: Any, unit: Any) -> float | None:
    unit_days = DAYS_PER_UNIT.get(unit.strip().lower()) if type(unit) is str else None
    length = positive(value)
    return length * unit_days if length and unit_days else None


def duration_days(value: Any) -> float | None:
    q = obj(value)
    return None if q is None else _days(q.get("value"), q.get("code") or q.get("unit"))


def _amounts(dosage: dict[str, Any]) -> tuple[Amount, ...]:
    found: list[Amount] = []
    for holder in (*(obj(x) for x in items(dosage.get("doseAndRate"))), dosage):
        if holder is None:
            continue
        dose = quantity(holder.get("doseQuantity"))
        dose_range = obj(holder.get("doseRange"))
        if dose is None and dose_range is not None:
            low, high = quantity(dose_range.get("low")), quantity(dose_range.get("high"))
            if low and high and low.unit == high.unit and low.value.lo <= high.value.hi:
                dose = Amount(Span(low.value.lo, high.value.hi), low.unit)
        rate = quantity(holder.get("rateQuantity"))
        ratio = obj(holder.get("rateRatio"))
        if rate is None and ratio is not None:
            per, hours = quantity(ratio.get("numerator")), duration_days(ratio.get("denominator"))
            if per is not None and hours and per.unit == "mg":
                rate = Amount(per.value.scale(1 / (hours * 24)), MG_PER_H)
        found += [a for a in (dose, rate if rate and rate.unit == MG_PER_H else None) if a]
    return tuple(found)


def _repeat_per_day(repeat: dict[str, Any]) -> Span | None:
    freq_raw, period_raw = repeat.get("frequency"), repeat.get("period")
    freq = 1.0 if freq_raw is None else positive(freq_raw)
    freq_max = positive(repeat.get("frequencyMax")) or freq
    slots = sum(v.EVENT_TIMING.get(w.upper(), 1.0) for w in strings(repeat, "when")) or len(
        strings(repeat, "timeOfDay")
    )
    if freq is None or freq_max is None:
        return None
    unit = repeat.get("periodUnit", repeat.get("periodUnits"))  # DSTU2 spells it periodUnits
    if period_raw is None:
        return Span(freq * slots, freq_max * slots) if slots else None
    period = _days(period_raw, unit)
    period_max = _days(repeat.get("periodMax"), unit) or period
    if period is None or period_max is None:
        return None
    per_day = Span(freq / max(period, period_max), max(freq, freq_max) / period)
    days_of_week = set(strings(repeat, "dayOfWeek"))
    if days_of_week and period <= 1:
        per_day = per_day.scale(min(len(days_of_week), 7) / 7)
    if slots and period >= 1:  # "when" names times of the day: each day of the period
        from_slots = Span.of(slots / period)
        per_day = per_day if per_day.agrees(from_slots) else per_day.union(from_slots)
    return per_day


def strings(holder: dict[str, Any], key: str) -> list[str]:
    value = holder.get(key)
    found = value if type(value) is list else [value]
    return [x for x in found if type(x) is str and x.strip()]


def _code_per_day(concept: Any) -> Span | None:
    cc = obj(concept)
    if cc is None:
        return None
    codings = [c for c in (obj(x) for x in items(cc.get("coding")) or [cc]) if c]
    words: list[str] = []
    for coding in codings:
        code, system = text(coding.get("code")), (text(coding.get("system")) or "").lower()
        if code is None:
            continue
        upper = code.upper().replace(".", "")
        if upper in v.TIMING_CODES:
            return Span.of(v.TIMING_CODES[upper])
        q_hours = _Q_HOURS.match(upper)
        if q_hours and (hours := positive(float(q_hours.group(1)))):
            return Span.of(24 / hours)
        if code in v.SNOMED_FREQUENCY and (_SNOMED in system or not system):
            return Span(*v.SNOMED_FREQUENCY[code])
        words.append(code)
    words += [w for w in (text(cc.get("text")), *(text(c.get("display")) for c in codings)) if w]
    for phrase in words:  # local codes and texts: "Q4-6H", "Every 6 hours", "twice a day"
        found = timing_text(phrase)
        if found is not None:
            return found
    return None


def per_day(timing: Any) -> Span | None:
    """Administrations a day from timing.repeat and timing.code; both ends when they differ."""
    t = obj(timing)
    if t is None:
        return None
    repeat = obj(t.get("repeat"))
    from_repeat = _repeat_per_day(repeat) if repeat else None
    from_code = _code_per_day(t.get("code"))
    if from_repeat is None or from_code is None:
        return from_repeat or from_code
    return from_repeat if from_repeat.agrees(from_code) else from_repeat.union(from_code)


def as_needed(dosage: dict[str, Any]) -> bool:
    """asNeededBoolean / asNeededCodeableConcept (R4), asNeeded / asNeededFor (R5)."""
    return (
        dosage.get("asNeededBoolean") is True
        or dosage.get("asNeeded") is True
        or bool(obj(dosage.get("asNeededCodeableConcept")))
        or bool(items(dosage.get("asNeededFor")))
    )


def _caps(dosage: dict[str, Any]) -> tuple[list[Amount], float | None]:
    caps: list[Amount] = []
    doses: float | None = None
    for item in items(dosage.get("maxDosePerPeriod")):  # R4 one Ratio, R5 a list
        ratio = obj(item) or {}
        top, days = quantity(ratio.get("numerator")), duration_days(ratio.get("denominator"))
        if top is None or not days:
            continue
        numerator = obj(ratio.get("numerator")) or {}
        if _unit(numerator) in v.DOSE_WORDS:
            doses = min(doses or math.inf, top.value.hi / days)
        else:
            caps.append(Amount(top.value.scale(1 / days), top.unit))
    return caps, doses


def _bad_number(value: Any) -> bool:
    """Present, but not a number at all ("1e308" as text, an object, true): not just odd."""
    return value is not None and (isinstance(value, bool) or not isinstance(value, int | float))


def _bad_quantity(value: Any) -> bool:
    return value is not None and (type(value) is not dict or _bad_number(value.get("value")))


def _bad_ratio(value: Any) -> bool:
    ratio = obj(value)
    return value is not None and (
        ratio is None
        or _bad_quantity(ratio.get("numerator"))
        or _bad_quantity(ratio.get("denominator"))
    )


def malformed(dosage: dict[str, Any]) -> bool:
    """A dose or timing field of the wrong type: the dose is unknown, and that is reported."""
    rates = dosage.get("doseAndRate")
    if rates is not None and type(rates) not in (list, dict):
        return True
    for holder in (*items(rates), dosage):
        h = obj(holder)
        if h is None:
            return True
        dose_range = h.get("doseRange")
        if (
            any(_bad_quantity(h.get(k)) for k in ("doseQuantity", "rateQuantity"))
            or _bad_ratio(h.get("rateRatio"))
            or (
                dose_range is not None
                and (
                    type(dose_range) is not dict
                    or _bad_quantity(dose_range.get("low"))
                    or _bad_quantity(dose_range.get("high"))
                )
            )
        ):
            return True
    timing = dosage.get("timing")
    timing_obj = obj(timing)
    repeat = timing_obj.get("repeat") if timing_obj else None
    if (timing is not None and timing_obj is None) or (repeat is not None and obj(repeat) is None):
        return True
    if repeat is not None and any(
        _bad_number(repeat.get(k)) for k in ("frequency", "frequencyMax", "period", "periodMax")
    ):
        return True
    caps = dosage.get("maxDosePerPeriod")
    return any(_bad_ratio(c) for c in (caps if type(caps) is list else [caps])) or _bad_quantity(
        dosage.get("maxDosePerAdministration")
    )


@dataclass(frozen=True, slots=True)
class Structured:
    """What one Dosage states in its structured fields."""

    amounts: tuple[Amount, ...]
    per_day: Span | None
    as_needed: bool
    caps: tuple[Amount, ...]
    doses_per_day_cap: float | None
    admin_cap: Amount | None
    days: float | None
    start: date | None
    end: date | None


def _bounds(repeat: dict[str, Any]) -> tuple[float | None, date | None, date | None]:
    period = obj(repeat.get("boundsPeriod")) or {}
    try:
        start = parse_date(period.get("start"))
        end = parse_date(period.get("end"), end=True)
    except Malformed:
        start = end = None
    return duration_days(repeat.get("boundsDuration")), start, end


def read(dosage: dict[str, Any]) -> Structured:
    timing = obj(dosage.get("timing")) or {}
    days, start, end = _bounds(obj(timing.get("repeat")) or {})
    caps, doses = _caps(dosage)
    return Structured(
        _amounts(dosage),
        per_day(timing),
        as_needed(dosage),
        tuple(caps),
        doses,
        quantity(dosage.get("maxDosePerAdministration")),
        days,
        start,
        end,
    )
