"""Daily dose in mg from FHIR dosageInstruction, and how sure that number is (DoseConfidence).

Each Dosage is read twice, from its structured fields and from its text (``app.normalize.sig``).
Readings that agree give an exact dose; readings that disagree give the range they span, never
a silent pick. Dosages without ``sequence`` (or with the same one) are taken together and add
up; different sequences are consecutive phases (a taper), and today's phase is the one whose
stated duration covers today. A PRN order's number is the most it allows a day (CDC
MMECalculator.cql takes frequencyMax and doseRange.high: MME on the upper bound), capped by
maxDosePerPeriod or a "max N a day" in the text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from app.normalize.sig import structured
from app.normalize.sig import vocab as v
from app.normalize.sig.describe import describe
from app.normalize.sig.model import (
    COUNT,
    EMPTY,
    MG,
    MG_PER_H,
    ML,
    UNITLESS,
    Amount,
    Part,
    Phase,
    Sig,
    Span,
    same,
)
from app.normalize.sig.phases import Daily, across, steps_down, todays, together
from app.normalize.sig.text import parse_text
from app.record import DoseConfidence


class DoseResult(NamedTuple):
    """The daily amount of the ingredient, how sure it is, and how the order describes it."""

    daily_mg: float | None  # exact dose, top of the range, or the PRN maximum
    text: str | None
    # A per-hour rate (patch or infusion): applies all day, however often it is changed.
    continuous: bool = False
    confidence: DoseConfidence = DoseConfidence.UNKNOWN
    low_mg: float | None = None  # bottom of the range (RANGE only)
    as_needed: bool = False
    unreadable: bool = False  # a dose or timing field of the wrong type was met
    steps_down: bool = False  # its phases lower the dose step by step: a written taper


@dataclass(frozen=True, slots=True)
class _Product:
    strength: float | None
    unit: str | None  # "mg", "mg/ml", "mg/hr", "mg/actuat"


def _each(amount: Amount | None, product: _Product) -> tuple[Span | None, bool]:
    """mg per administration, or (continuous) mg a day for a per-hour rate."""
    if amount is None:
        return None, False
    if amount.unit == MG:
        return amount.value, False
    if amount.unit == MG_PER_H:
        return amount.value.scale(24), True
    strength, unit = product.strength, product.unit
    if amount.unit == ML:
        return (
            (amount.value.scale(strength), False) if strength and unit == "mg/ml" else (None, False)
        )
    if amount.unit not in (COUNT, UNITLESS):
        return None, False
    if strength and unit == "mg/hr":
        return amount.value.scale(strength * 24), True  # patches: the rate, all day
    counted = amount.value.scale(strength) if strength and unit in ("mg", "mg/actuat") else None
    hint = amount.hint_mg
    if hint is None:
        return counted, False
    if counted is None:  # "1 tablet (0.5 mg)" and no strength known: one unit is the mass
        return (Span.of(hint) if amount.value.exact and same(amount.value.lo, 1) else None), False
    if counted.agrees(Span.of(hint)) or (strength is not None and same(hint, strength)):
        return counted, False
    return counted.union(Span.of(hint)), False  # "2 tablets (1 mg)" of a 1 mg tablet: unsure


def _both(a: Span | None, b: Span | None) -> Span | None:
    """Two readings of one number: the number when they agree, the range they span if not."""
    if a is None or b is None:
        return a or b
    return a if a.agrees(b) else a.union(b)


def _part(part: Part, product: _Product) -> tuple[Span | None, bool]:
    each, continuous = _each(part.amount, product)
    if each is None or continuous:
        return each, continuous
    return (each * part.per_day if part.per_day else None), False


def _sum(parts: tuple[Part, ...], product: _Product) -> tuple[Span | None, bool]:
    total: Span | None = Span.of(0.0)
    continuous = False
    for part in parts:
        daily, cont = _part(part, product)
        continuous |= cont
        total = None if total is None or daily is None else total + daily
    return (total if parts else None), continuous


def _same_part(part: Part, each: Span | None, per_day: Span | None, product: _Product) -> bool:
    mine = _each(part.amount, product)[0]
    return (
        mine is not None
        and each is not None
        and mine.agrees(each)
        and part.per_day is not None
        and per_day is not None
        and part.per_day.agrees(per_day)
    )


def _single(
    st: structured.Structured, parts: tuple[Part, ...], product: _Product, admin: float | None
) -> tuple[Span | None, bool]:
    """The structured fields and a one-phase text, read together."""
    readings = [_each(a, product) for a in st.amounts]
    s_each = None
    for each, _ in readings:
        s_each = _both(s_each, each)
    s_cont = any(cont for _, cont in readings)
    if s_each is not None and admin is not None and not s_cont:
        s_each = s_each.cap(admin)
    if len(parts) > 1:  # "1 tab every morning and 2 at bedtime": the text is the whole sig
        t_total, t_cont = _sum(parts, product)
        s_total = s_each if s_cont or s_each is None or st.per_day is None else s_each * st.per_day
        if t_total is None:  # the text says more than the structure, and not all of it reads
            return None, t_cont
        if s_total is None:
            return t_total, t_cont
        if t_total.agrees(s_total) or any(
            _same_part(p, s_each, st.per_day, product) for p in parts
        ):
            return t_total, t_cont  # the structure holds one part of what the text says
        return t_total.union(s_total), t_cont or s_cont
    part = parts[0] if parts else Part(None, None)
    t_each, t_cont = _each(part.amount, product)
    if s_cont != t_cont and s_each is not None and t_each is not None:
        return (s_each, True) if s_cont else (t_each, True)  # a rate reads all day
    if t_each is not None and admin is not None and not t_cont:
        t_each = t_each.cap(admin)
    each = _both(s_each, t_each)
    if each is None or s_cont or t_cont:
        return each, s_cont or t_cont
    per_day = _both(st.per_day, part.per_day)
    return (each * per_day if per_day else None), False


def _limit(
    st: structured.Structured, sig: Sig, product: _Product, each: float | None
) -> float | None:
    """The lowest daily cap the order states, in mg (maxDosePerPeriod, "max 4 tablets/day")."""
    limits = []
    for amount in (*st.caps, *sig.caps):
        mg, continuous = _each(amount, product)
        if mg is not None and not continuous:
            limits.append(mg.hi)
    doses = [d for d in (st.doses_per_day_cap, sig.doses_per_day_cap) if d]
    if doses and each:
        limits.append(min(doses) * each)
    return min(limits) if limits else None


def _capped(dose: Daily, limit: float) -> Daily:
    """The lower of the sig and the cap; a PRN order with no frequency is up to the cap."""
    if dose.daily is None:
        return replace(dose, daily=Span.of(limit)) if dose.as_needed and not dose.stop else dose
    # A schedule above its own cap ("2 tabs TID, max 4 a day") contradicts itself: not exact.
    return replace(
        dose,
        daily=dose.daily.cap(limit),
        conflict=dose.conflict or (not dose.as_needed and dose.daily.lo > limit),
    )


def _read_cached(
    dosage: dict[str, Any], product: _Product
) -> tuple[tuple[Daily, ...], str | None, bool]:
    """``_read`` remembered by the Dosage's JSON: EHRs repeat a handful of shapes many times."""
    try:  # orjson writes NaN and Infinity as null: the reader takes all three as no number
        key = orjson.dumps(dosage, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # 2**64, deep nesting: read it uncached
        doses, words = _read(dosage, product)
        return tuple(doses), words, structured.malformed(dosage)
    return _read_json(key, product)


@lru_cache(maxsize=8192)
def _read_json(key: bytes, product: _Product) -> tuple[tuple[Daily, ...], str | None, bool]:
    dosage = orjson.loads(key)
    doses, words = _read(dosage, product)
    return tuple(doses), words, structured.malformed(dosage)


def _read(dosage: dict[str, Any], product: _Product) -> tuple[list[Daily], str | None]:
    """The phases of one Dosage in mg a day, and its words for cards."""
    st = structured.read(dosage)
    words = structured.text(dosage.get("text"))
    instruction = structured.text(dosage.get("patientInstruction"))
    sig = parse_text(words) if words else EMPTY
    if sig.empty and instruction and instruction != words:
        sig = parse_text(instruction)
    as_needed = st.as_needed or sig.as_needed  # the dosage as a whole, for its words
    admin_each = _each(st.admin_cap, product)[0]
    admin = admin_each.hi if admin_each is not None else None
    phases: tuple[Phase, ...] = sig.phases or (Phase(()),)
    doses: list[Daily] = []
    if len(phases) == 1:
        daily, cont = _single(st, phases[0].parts, product, admin)
        if sig.daily_total is not None and not cont:  # "..., total 15 mg/day": check it
            daily = _both(daily, sig.daily_total.value)
        doses.append(Daily(daily, as_needed, cont, st.days, st.start, st.end))
    else:
        for i, phase in enumerate(phases):
            daily, cont = (
                _single(st, phase.parts, product, admin)
                if i == 0 and len(phase.parts) == 1
                else _sum(phase.parts, product)
            )
            doses.append(
                Daily(
                    daily,
                    st.as_needed or any(p.as_needed for p in phase.parts),
                    cont,
                    phase.days,
                    phase.start,
                    phase.end,
                    phase.stop,
                )
            )
    amounts = [*st.amounts, *(p.amount for p in phases[0].parts if p.amount is not None)]
    eaches = [e.hi for a in amounts if (e := _each(a, product)[0]) is not None]
    limit = _limit(st, sig, product, max(eaches) if eaches else None)
    if limit is not None:
        doses = [_capped(d, limit) for d in doses]
    return doses, words or instruction or describe(dosage, as_needed)


def _result(dose: Daily, text: str | None, unreadable: bool) -> DoseResult:
    daily = dose.daily
    if (
        unreadable
        or daily is None
        or not daily.valid
        or daily.hi > v.IMPLAUSIBLE_MG_PER_DAY
        or daily.lo < v.IMPLAUSIBLY_SMALL_MG_PER_DAY
    ):
        return DoseResult(
            None, text, False, DoseConfidence.UNKNOWN, None, dose.as_needed, unreadable
        )
    if dose.as_needed:
        return DoseResult(daily.hi, text, dose.continuous, DoseConfidence.AS_NEEDED_MAX, None, True)
    if daily.exact and not dose.conflict:
        return DoseResult(daily.hi, text, dose.continuous, DoseConfidence.EXACT, None, False)
    return DoseResult(daily.hi, text, dose.continuous, DoseConfidence.RANGE, daily.lo, False)


class Reading(NamedTuple):
    """Everything the dosage instructions say, before today's phase is chosen."""

    phases: tuple[Daily, ...]
    text: str | None
    unreadable: bool
    steps_down: bool  # the phases lower the dose step by step: a written taper


def product(strength_mg: float | None, strength_unit: str | None) -> _Product:
    return _Product(
        structured.positive(strength_mg),
        strength_unit.lower() if isinstance(strength_unit, str) else None,
    )


def read_instructions(instructions: Any, prod: _Product) -> Reading:
    """The phases of the dosage instructions in mg a day, their words, and whether a field
    had the wrong type; never raises. Depends on the instructions and product only."""
    groups: dict[int | None, list[list[Daily]]] = {}
    texts: list[str] = []
    key: int | None = None
    unreadable = type(instructions) not in (list, dict) and instructions is not None
    for dosage in structured.items(instructions):
        if type(dosage) is not dict:
            unreadable = True
            continue
        doses, words, bad = _read_cached(dosage, prod)
        unreadable |= bad
        sequence = dosage.get("sequence")
        key = sequence if type(sequence) is int else key
        groups.setdefault(key, []).append(list(doses))
        texts += [words] if words else []
    phases: list[Daily] = []
    for k in sorted(groups, key=lambda k: (k is not None, k or 0)):
        group = groups[k]
        phases += (
            group[0]
            if len(group) == 1
            else [together([g[0] if len(g) == 1 else across(g) for g in group])]
        )
    return Reading(tuple(phases), "; ".join(texts) or None, unreadable, steps_down(phases))


def dose_on(reading: Reading, start: date | None, today: date | None) -> DoseResult:
    """The daily dose of the phase in force ``today`` for an order started on ``start``."""
    if not reading.phases:
        return DoseResult(None, None, unreadable=reading.unreadable)
    phases = list(reading.phases)
    chosen = todays(phases, start, today)
    result = _result(
        chosen if chosen is not None else across(phases), reading.text, reading.unreadable
    )
    return result._replace(steps_down=True) if reading.steps_down else result


def daily_dose(
    instructions: Any,
    strength_mg: float | None,
    strength_unit: str | None,
    *,
    start: date | None = None,
    today: date | None = None,
) -> DoseResult:
    """Daily mg over today's phase of the dosage instructions; never raises.

    ``start`` is when the order's first phase began (a draft: today); ``today`` the evaluation
    date. Without them a sequenced order reads as the range over its phases.
    """
    return dose_on(
        read_instructions(instructions, product(strength_mg, strength_unit)), start, today
    )
