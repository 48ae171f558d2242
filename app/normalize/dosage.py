"""Daily dose in mg from a FHIR Dosage (structured first, then the free-text instruction).

Where an order gives a range ("1-2 tablets", "every 4-6 hours", a doseRange, a PRN maximum),
the HIGHER daily amount is used: the rules estimate risk, and under-counting is the worse error.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from app.normalize.dates import DAYS_PER_UNIT, duration_days
from app.normalize.errors import Malformed
from app.normalize.fhir import as_dict, as_list, codings, concept_text, opt_str

_MASS_MG = {"mg": 1.0, "milligram": 1.0, "milligrams": 1.0, "g": 1000.0, "gram": 1000.0,
            "grams": 1000.0, "mcg": 0.001, "ug": 0.001, "µg": 0.001, "microgram": 0.001,
            "micrograms": 0.001}
_RATE_MG_PER_H = {"mg/h": 1.0, "mg/hr": 1.0, "mcg/h": 0.001, "mcg/hr": 0.001, "ug/h": 0.001,
                  "ug/hr": 0.001, "µg/h": 0.001, "µg/hr": 0.001}
_VOLUME_ML = {"ml", "milliliter", "milliliters", "millilitre", "millilitres"}
# Units that mean "one of the product's units": multiply by the product strength.
_COUNT = {"1", "tablet", "tablets", "tab", "tabs", "tbl", "capsule", "capsules", "cap", "caps",
          "each", "ea", "unit", "units", "dose", "doses", "pill", "pills", "patch", "patches",
          "film", "films", "lozenge", "lozenges", "troche", "troches", "suppository",
          "suppositories", "actuat", "spray", "sprays", "puff", "puffs"}
_PER_HOUR_STRENGTH = {"mg/h", "mg/hr"}

# HL7 v3 GTSAbbreviation timing codes (plus common local ones) -> administrations per day.
_TIMING_CODES = {"qd": 1.0, "daily": 1.0, "am": 1.0, "pm": 1.0, "hs": 1.0, "qhs": 1.0,
                 "qam": 1.0, "qpm": 1.0, "c": 3.0, "bid": 2.0, "tid": 3.0, "qid": 4.0,
                 "qod": 0.5, "wk": 1 / 7, "mo": 1 / 30}
_Q_HOURS = re.compile(r"^q(\d+)h$")

_WORD_NUMBERS = {"one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
                 "half": 0.5, "one-half": 0.5, "one half": 0.5, "a half": 0.5, "½": 0.5,
                 "once": 1.0, "twice": 2.0, "thrice": 3.0}
_NUM = (r"(?:\d+(?:\.\d+)?|\d+/\d+|\.\d+|one-half|one half|a half|half|½|"
        r"one|two|three|four|five|six)")
_UNIT = (r"(?:mcg/hr|mcg/h|ug/hr|ug/h|mg/hr|mg/h|mg|milligrams?|mcg|micrograms?|g|ml|"
         r"tablets?|tabs?|capsules?|caps?|pills?|patch(?:es)?|films?|lozenges?)")
_AMOUNT_RE = re.compile(rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|–|to|or)\s*(?P<b>{_NUM}))?"
                        rf"\s*(?P<u>{_UNIT})(?![\w/])")
_EVERY_HOURS_RE = re.compile(r"\bevery\s+(\d+(?:\.\d+)?)(?:\s*(?:-|–|to)\s*\d+(?:\.\d+)?)?"
                             r"\s*(?:hours?|hrs?|h)\b")
_Q_HOURS_RE = re.compile(r"\bq\.?\s*(\d+)(?:\s*-\s*\d+)?\s*(?:h|hrs?|hours?)\b")
_TIMES_RE = re.compile(rf"\b({_NUM})\s*(?:x|times?)\s*(?:a|per|each|every)?\s*(?:day|daily)\b")
_EVERY_DAYS_RE = re.compile(r"\bevery\s+(\d+)\s*days?\b")
_FREQ_WORDS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\btwice\b|\bb\.?i\.?d\b"), 2.0),
    (re.compile(r"\bthrice\b|\bt\.?i\.?d\b"), 3.0),
    (re.compile(r"\bq\.?i\.?d\b"), 4.0),
    (re.compile(r"\bevery other day\b|\bq\.?o\.?d\b"), 0.5),
    (re.compile(r"\bweekly\b|\bonce a week\b|\bevery week\b"), 1 / 7),
    (re.compile(r"\b(?:daily|once a day|once per day|every day|each day|nightly|every night|"
                r"at bedtime|at night|bedtime|every morning|each morning|in the morning|"
                r"every evening|in the evening|q\.?d|q\.?h\.?s|h\.?s|q\.?am|q\.?pm|qday)\b"),
     1.0),
)


class DoseResult(NamedTuple):
    """The daily amount of the ingredient and how it was described."""

    daily_mg: float | None
    text: str | None
    # A per-hour rate (patch or infusion): applies all day, however often it is changed.
    continuous: bool = False


def _number(token: str) -> float | None:
    token = token.strip().lower()
    if token in _WORD_NUMBERS:
        return _WORD_NUMBERS[token]
    if "/" in token:
        num, den = token.split("/", 1)
        # "1/0 tablet" states no amount: left unread (dose unknown), not an error.
        return float(num) / float(den) if float(den) else None
    return float(token)


def _clean_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    return unit.strip().strip("{}").lower() or None


def _quantity(value: Any) -> tuple[float, str | None] | None:
    q = as_dict(value)
    if q is None or q.get("value") is None:
        return None
    amount = q["value"]
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise Malformed("quantity value is not a number")
    unit = _clean_unit(opt_str(q.get("code"))) or _clean_unit(opt_str(q.get("unit")))
    # The UCUM code of a count is often "1" or "{tbl}"; prefer the human unit for those.
    human = _clean_unit(opt_str(q.get("unit")))
    if unit in {"1", "tbl"} and human:
        unit = human
    return float(amount), unit


def _to_mg(amount: float, unit: str | None, strength_mg: float | None,
           strength_unit: str | None) -> tuple[float | None, bool]:
    """(mg, continuous) for one administration; continuous means mg per hour."""
    s_unit = (strength_unit or "").lower()
    if unit in _RATE_MG_PER_H:
        return amount * _RATE_MG_PER_H[unit], True
    if unit in _MASS_MG:
        return amount * _MASS_MG[unit], False
    if strength_mg is None:
        return None, False
    if unit in _VOLUME_ML:
        return (amount * strength_mg, False) if s_unit == "mg/ml" else (None, False)
    if unit is None or unit in _COUNT:
        # A unitless dose (Synthea sends {"value": 1}) is taken as one product unit.
        return amount * strength_mg, s_unit in _PER_HOUR_STRENGTH
    return None, False


def _timing_per_day(timing: Any) -> tuple[float | None, str | None]:
    """(administrations per day, a phrase for generated text) from a FHIR Timing."""
    t = as_dict(timing)
    if t is None:
        return None, None
    repeat = as_dict(t.get("repeat"))
    if repeat is not None:
        freq = repeat.get("frequencyMax", repeat.get("frequency"))
        freq_n = 1.0 if freq is None else _numeric(freq)
        if repeat.get("period") is not None:
            period = _numeric(repeat["period"])
            unit = repeat.get("periodUnit")
            days = period * DAYS_PER_UNIT.get(unit.lower(), 0.0) if isinstance(unit, str) else 0
            if days:
                return freq_n / days, _period_phrase(freq_n, period, repeat.get("periodUnit"))
        slots = max(len(as_list(repeat.get("when"))), len(as_list(repeat.get("timeOfDay"))))
        if slots:
            per_day = freq_n * slots
            return per_day, _times_phrase(per_day)
    code = as_dict(t.get("code"))
    if code is not None:
        for _, value, _ in codings(code):
            if value:
                per_day = _code_per_day(value)
                if per_day is not None:
                    return per_day, _times_phrase(per_day)
        text = concept_text(code)
        if text:
            per_day = _code_per_day(text) or _text_per_day(text.lower())
            if per_day is not None:
                return per_day, _times_phrase(per_day)
    return None, None


def _numeric(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("timing value is not a number")
    return float(value)


def _code_per_day(code: str) -> float | None:
    key = code.strip().lower().replace(".", "")
    if key in _TIMING_CODES:
        return _TIMING_CODES[key]
    match = _Q_HOURS.match(key)
    if match and int(match.group(1)) > 0:
        return 24 / int(match.group(1))
    return None


def _fmt(value: float) -> str:
    return f"{value:g}"


def _times_phrase(per_day: float) -> str:
    if per_day == 1:
        return "once per day"
    if per_day < 1:
        return f"every {_fmt(1 / per_day)} days"
    return f"{_fmt(per_day)} times per day"


_UNIT_WORDS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week",
               "mo": "month", "a": "year"}


def _period_phrase(freq: float, period: float, unit: Any) -> str:
    word = _UNIT_WORDS.get(str(unit), str(unit))
    if period == 1:
        return "once per " + word if freq == 1 else f"{_fmt(freq)} times per {word}"
    every = f"every {_fmt(period)} {word}s"
    return every if freq == 1 else f"{_fmt(freq)} times {every}"


def _text_per_day(text: str) -> float | None:
    match = _EVERY_HOURS_RE.search(text) or _Q_HOURS_RE.search(text)
    if match:
        hours = float(match.group(1))
        return 24 / hours if hours > 0 else None
    match = _TIMES_RE.search(text)
    if match:
        return _number(match.group(1))
    match = _EVERY_DAYS_RE.search(text)
    if match and int(match.group(1)) > 0:
        return 1 / int(match.group(1))
    for pattern, per_day in _FREQ_WORDS:
        if pattern.search(text):
            return per_day
    return None


def parse_text(text: str) -> tuple[float | None, str | None, float | None]:
    """(amount, unit, per day) read from an instruction such as "1-2 tablets every 6 hours"."""
    low = text.lower()
    amount = unit = None
    match = _AMOUNT_RE.search(low)
    if match:
        values = [_number(match.group(g)) for g in ("a", "b") if match.group(g)]
        if None not in values:
            amount = max(v for v in values if v is not None)
            unit = match.group("u")
    return amount, unit, _text_per_day(low)


def _structured_dose(dosage: dict[str, Any]) -> tuple[float, str | None] | None:
    for holder in (*as_list(dosage.get("doseAndRate")), dosage):
        holder = as_dict(holder)
        if holder is None:
            continue
        quantity = _quantity(holder.get("doseQuantity"))
        if quantity is not None:
            return quantity
        dose_range = as_dict(holder.get("doseRange"))
        if dose_range is not None:
            high = _quantity(dose_range.get("high")) or _quantity(dose_range.get("low"))
            if high is not None:
                return high
    return None


def _max_per_day(dosage: dict[str, Any], strength_mg: float | None,
                 strength_unit: str | None) -> float | None:
    """mg/day allowed by maxDosePerPeriod (R4 Ratio, or the R5 list of Ratios)."""
    best: float | None = None
    for item in as_list(dosage.get("maxDosePerPeriod")):
        ratio = as_dict(item)
        if ratio is None:
            continue
        numerator = _quantity(ratio.get("numerator"))
        days = duration_days(as_dict(ratio.get("denominator")))
        if numerator is None or not days:
            continue
        mg, continuous = _to_mg(numerator[0], numerator[1], strength_mg, strength_unit)
        if mg is None or continuous:
            continue
        per_day = mg / days
        best = per_day if best is None else max(best, per_day)
    return best


def _one(dosage: dict[str, Any], strength_mg: float | None,
         strength_unit: str | None) -> DoseResult:
    text = opt_str(dosage.get("text")) or opt_str(dosage.get("patientInstruction"))
    as_needed = bool(dosage.get("asNeededBoolean")) or dosage.get("asNeededCodeableConcept") \
        is not None or bool(dosage.get("asNeeded"))
    structured = _structured_dose(dosage)
    per_day, phrase = _timing_per_day(dosage.get("timing"))
    amount, unit = structured if structured is not None else (None, None)
    if text and (amount is None or per_day is None):
        t_amount, t_unit, t_per_day = parse_text(text)
        if amount is None and t_amount is not None:
            amount, unit = t_amount, t_unit
        if per_day is None:
            per_day = t_per_day
    maximum = _max_per_day(dosage, strength_mg, strength_unit)
    daily: float | None = None
    continuous = False
    if amount is not None:
        mg, continuous = _to_mg(amount, unit, strength_mg, strength_unit)
        if mg is not None and continuous:
            daily = mg * 24  # a patch or infusion delivers its rate all day, however often changed
        elif mg is not None and per_day is not None:
            daily = mg * per_day
    if maximum is not None and (as_needed or daily is None):
        daily = maximum if daily is None else max(daily, maximum)
    if text is None and amount is not None:
        unit_word = unit or "dose"
        parts = [f"{_fmt(amount)} {unit_word}"]
        if phrase:
            parts.append(phrase)
        if as_needed:
            parts.append("as needed")
        text = " ".join(parts)
    elif text is None and as_needed:
        text = "as needed"
    return DoseResult(_finite(daily), text, continuous)


def _finite(value: float | None) -> float | None:
    """Numbers past the float range (1e308 tablets 1e308 times a day) state no usable dose."""
    return value if value is not None and math.isfinite(value) else None


def daily_dose(instructions: Any, strength_mg: float | None,
               strength_unit: str | None) -> DoseResult:
    """Daily mg over the first dosage and any that run concurrently with it (same sequence)."""
    dosages = [d for d in (as_dict(item) for item in as_list(instructions)) if d is not None]
    if not dosages:
        return DoseResult(None, None)
    first = dosages[0]
    if len(dosages) == 1:
        return _one(first, strength_mg, strength_unit)
    sequence = first.get("sequence")
    group = [first]
    if sequence is not None:
        group += [d for d in dosages[1:] if d.get("sequence") == sequence]
    results = [_one(d, strength_mg, strength_unit) for d in group]
    texts = [r.text for r in results if r.text]
    joined = "; ".join(texts) if texts else None
    doses = [r.daily_mg for r in results]
    total = None if any(d is None for d in doses) else sum(d for d in doses if d is not None)
    return DoseResult(_finite(total), joined, any(r.continuous for r in results))
