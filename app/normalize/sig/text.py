"""The sig grammar: free text -> phases ("then"), parts ("and"), amounts and times a day.

A phase is split into segments at "and", commas and sentence ends. A segment with an amount
starts a part ("1 tablet every morning"); one without attaches its timing to the part before
("... in the morning and at bedtime", Oracle Health's "1 tab, PO, BID, PRN").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from app.normalize.sig import vocab as v
from app.normalize.sig.model import COUNT, MG, UNITLESS, Amount, Part, Phase, Sig, Span
from app.normalize.sig.prep import (
    NUM,
    drop_asides,
    normalize,
    number,
    span,
    take_caps,
    take_total,
)

_R = rf"(?P<a>{NUM})(?:\s*(?:-|to|or)\s*(?P<b>{NUM}))?"
_PHASES = re.compile(r"\bthen\b|\bfollowed by\b|\bafter that\b|\bafterwards\b")
_STOP = re.compile(r"^[\s,.;]*(?:and\s+)?(?:stop|discontinue|d/c|dc|off|quit)\b")
# "for 30 days", "x 30 days", "x30d", "over the next 2 weeks" (vocabulary.json "duration").
_DURATION = re.compile(
    rf"\b(?:{v.DURATION_LEADS_ALT})\s*(?:(?:{v.DURATION_FILLERS_ALT})\s+)?"
    rf"(?P<a>{NUM})(?:\s*(?:-|to)\s*(?P<b>{NUM}))?\s*(?:more\s+)?"
    rf"(?P<u>{v.DURATION_UNIT_ALT})\b"
)
_SEGMENTS = re.compile(r",|;|\band\b|\bplus\b|&|\+|\.(?=\s|$)")
_CLOCK = re.compile(r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b")
_HOURS = re.compile(
    rf"\b(?:every|each|q)\s*{_R}\s*(?:hours?|hrs?|h)\b"
    r"(?P<awake>\s*(?:while|when)\s+awake)?"
)
_DAYS = re.compile(rf"\b(?:every|q)\s*{_R}\s*(?:days?|d)\b")
_WEEKS = re.compile(rf"\b(?:every|q)\s*{_R}\s*(?:weeks?|wks?)\b")
_MONTHS = re.compile(rf"\b(?:every|q)\s*{_R}\s*(?:months?|mos?)\b")
_TIMES = re.compile(
    rf"\b{_R}\s*(?:x|times?)\s*(?:(?:a|per|each|every|in a|in|/)\s*)?"
    r"(?P<per>day|daily|d|24\s*(?:hours?|hrs?|h)|weeks?|weekly|wk|months?|monthly)\b"
)
_SLASH_DAY = re.compile(r"(?<=[a-z])\s*/\s*(?:day|d)\b")
_PHRASES = re.compile(rf"(?<![\w])(?:{v.PHRASE_ALT})(?![\w])")
_AS_NEEDED = re.compile(rf"(?<![\w])(?:{v.AS_NEEDED_ALT})(?![\w])")
_WEEKDAYS = re.compile(rf"(?<![\w])(?:{v.WEEKDAY_ALT})(?![\w])")
_STRENGTH_FORM = re.compile(
    rf"(?<![\w.=~/])(?P<n>{NUM})\s+(?P<s>{NUM})\s*(?P<m>{v.MASS_ALT})"
    rf"\s+(?:{v.COUNT_ALT})(?![a-z])"
)
# "0.1 mg/kg" and "mg/m2" are per body size: not an amount this reader can take.
_AMOUNT = re.compile(
    rf"(?<![\w.=~/]){_R}\s*(?P<unit>{v.TEXT_UNIT_ALT})(?![a-z])"
    r"(?!\s*/\s*(?:kg|m2|m²|lb)\b)"
)
_PER_BODY = re.compile(r"/\s*(?:kg|m2|m²|lb)\b")
_LEAD = re.compile(
    r"^\s*(?:(?:take|give|use|apply|inject|chew|dissolve|place|inhale)\s+)?"
    rf"{_R}(?=\s|$)(?!\s*(?:times?\b|x\b|hours?|hrs?|days?|weeks?|%))"
)
_REPEAT = re.compile(
    r"\bmay (?:repeat|take another)"
    r"(?:\s+(?:dose\s+)?(?:x\s*)?(?P<n>\d+)(?:\s*times?)?\b)?"
)
# Words that leave the amount open: "take an additional tablet", "increase by 1 capsule every
# 3 days" (a titration), "up to 3 times daily" (a most, not a use).
_UNSTATED = re.compile(
    rf"\b(?:additional|another|extra)\s+(?:\w+\s+)?(?:{v.COUNT_ALT})\b"
    r"|\b(?:increas|decreas|reduc|titrat|wean|taper)\w*\s+(?:\w+\s+){0,3}?"
    r"(?:by|to|up|down)\b[^,;]*\d|\bexcept\b"
)
_UP_TO = re.compile(r"\bup to\b")
# "Do not take in the morning": a negated segment tells when not to take it.
_NEGATED = re.compile(r"\b(?:do not|don't|never|avoid)\b")
_TOTAL = re.compile(r"=(\d+(?:\.\d+)?)")
_HINT = re.compile(r"~(\d+(?:\.\d+)?)")
# A mass "range" whose top is many times its bottom is a combination strength ("5-325 mg").
_MAX_RANGE_RATIO = 8.0


@dataclass
class _Segment:
    amount: Amount | None = None
    per_day: Span | None = None
    slots: set[str] = field(default_factory=set)
    weekdays: set[str] = field(default_factory=set)  # "Monday, Wednesday, Friday"
    as_needed: bool = False
    extra: float = 0.0  # "may repeat once": doses allowed beyond the schedule (inf: unstated)

    def absorb(self, other: _Segment) -> None:
        """Timing written apart from its amount ("1 tab, PO, BID") belongs to that amount."""
        if other.per_day is not None:
            self.per_day = (
                other.per_day if self.per_day is None else self.per_day.union(other.per_day)
            )
        self.slots |= other.slots
        self.weekdays |= other.weekdays
        self.as_needed |= other.as_needed
        self.extra += other.extra

    def part(self) -> Part:
        per_day = self.per_day or (Span.of(len(self.slots)) if self.slots else None)
        if self.weekdays:
            per_day = (per_day or Span.of(1.0)).scale(len(self.weekdays) / 7)
        if per_day is not None and self.extra:
            # "1 at bedtime, may repeat once": up to one more; how many more, if unstated?
            per_day = Span(per_day.lo, per_day.hi + self.extra) if self.extra < math.inf else None
        return Part(self.amount, per_day, self.as_needed or self.extra > 0)


def _every(m: re.Match[str], days_per_unit: float) -> Span | None:
    every = span(m.group("a"), m.group("b"))
    return (
        None
        if every is None
        else Span(1 / (every.hi * days_per_unit), 1 / (every.lo * days_per_unit))
    )


def _hours(m: re.Match[str]) -> Span | None:
    every = span(m.group("a"), m.group("b"))
    if every is None:
        return None
    low = (v.AWAKE_HOURS if m.group("awake") else 24.0) / every.hi
    return Span(min(low, 24 / every.lo), 24 / every.lo)


def _times(m: re.Match[str]) -> Span | None:
    times = span(m.group("a"), m.group("b"))
    per = m.group("per")
    days = 7.0 if per.startswith("w") else 30.0 if per.startswith("mo") else 1.0
    return None if times is None else times.scale(1 / days)


_FREQUENCIES = (
    (_HOURS, _hours),
    (_DAYS, lambda m: _every(m, 1.0)),
    (_WEEKS, lambda m: _every(m, 7.0)),
    (_MONTHS, lambda m: _every(m, 30.0)),
    (_TIMES, _times),
    (_SLASH_DAY, lambda m: Span.of(1.0)),
)


def _free(taken: list[tuple[int, int]], m: re.Match[str]) -> bool:
    return all(m.end() <= a or m.start() >= b for a, b in taken)


def _amount(s: str, taken: list[tuple[int, int]]) -> Amount | None:
    found: list[Amount] = []
    for m in sorted([*_STRENGTH_FORM.finditer(s), *_AMOUNT.finditer(s)], key=lambda m: m.start()):
        if not _free(taken, m):
            continue
        if "s" in m.groupdict():  # "one 10 mg tablet": count x strength
            count, strength = number(m.group("n")), number(m.group("s"))
            if count and strength and count > 0 and strength > 0:
                found.append(Amount(Span.of(count * strength * v.UNITS[m.group("m")][1]), MG))
                taken.append(m.span())
            continue
        value = span(m.group("a"), m.group("b"))
        kind, factor = v.UNITS[m.group("unit")]
        if value is None or (kind == MG and value.hi > value.lo * _MAX_RANGE_RATIO):
            continue
        found.append(Amount(value.scale(factor), kind))
        taken.append(m.span())
    total, hint = _TOTAL.search(s), _HINT.search(s)
    if total is not None and (mg := number(total.group(1))):
        return Amount(Span.of(mg), MG)
    if not found and _PER_BODY.search(s):
        return None
    if not found:
        lead = _LEAD.match(s)
        value = span(lead.group("a"), lead.group("b")) if lead and _free(taken, lead) else None
        return None if value is None else Amount(value, UNITLESS)
    counts = [a for a in found if a.unit in (COUNT, UNITLESS)]
    first = counts[0] if counts else found[0]
    if first.unit in (COUNT, UNITLESS):
        # "10 mg tab: take 1/2 tab", "1 tablet 0.5 mg": the count, checked against the mass
        masses = [a for a in found if a.unit == MG and a.value.exact]
        hint_mg = number(hint.group(1)) if hint else (masses[0].value.lo if masses else None)
        if hint_mg:
            return Amount(first.value, first.unit, hint_mg)
    elif hint is not None and first.unit != MG and (mg := number(hint.group(1))):
        return Amount(Span.of(mg), MG)  # "2.5 mL (5 mg)": the mass is the dose
    return first


def _segment(s: str) -> _Segment:
    seg = _Segment(as_needed=_AS_NEEDED.search(s) is not None or _UP_TO.search(s) is not None)
    taken: list[tuple[int, int]] = []
    repeat = _REPEAT.search(s)
    if repeat is not None:
        taken.append(repeat.span())
        seg.extra = float(repeat.group("n")) if repeat.group("n") else math.inf
    unstated = _UNSTATED.search(s)
    if unstated is not None:
        taken.append((unstated.start(), len(s)))
        seg.extra = math.inf
    for m in _CLOCK.finditer(s):
        taken.append(m.span())
        hour = int(m.group(1)) % 12 + (12 if m.group(3) == "pm" else 0)
        seg.slots.add(f"{hour:02d}:{m.group(2) or '00'}")
    for pattern, read in _FREQUENCIES:
        for m in pattern.finditer(s):
            if not _free(taken, m):
                continue
            taken.append(m.span())
            value = read(m)
            if value is not None and value.valid:
                seg.absorb(_Segment(per_day=value))
    for m in _PHRASES.finditer(s):
        if not _free(taken, m):
            continue
        taken.append(m.span())
        phrase = m.group(0)
        if phrase in v.PER_DAY:
            seg.absorb(_Segment(per_day=Span.of(v.PER_DAY[phrase])))
        else:
            seg.slots.update(v.SLOTS[phrase])
    seg.weekdays.update(v.WEEKDAYS[m.group(0)] for m in _WEEKDAYS.finditer(s))
    seg.amount = _amount(s, taken)
    return seg


def _parts(chunk: str) -> list[_Segment]:
    parts: list[_Segment] = []
    pending = _Segment()
    for piece in _SEGMENTS.split(chunk):
        if _NEGATED.search(piece):
            continue
        seg = _segment(piece)
        if seg.amount is not None:
            if not parts:
                seg.absorb(pending)
            parts.append(seg)
        elif parts:
            parts[-1].absorb(seg)
        else:
            pending.absorb(seg)
    if not parts and (pending.per_day or pending.slots or pending.as_needed):
        parts.append(pending)
    return parts


def _duration(chunk: str) -> tuple[float | None, str]:
    m = _DURATION.search(chunk)
    if m is None:
        return None, chunk
    length = span(m.group("a"), m.group("b"))
    days = length.lo * v.DURATION_UNIT_DAYS[m.group("u")] if length and length.exact else None
    return days, chunk[: m.start()] + " " + chunk[m.end() :]


def _inherit(parts: list[_Segment], before: _Segment | None) -> None:
    """Fill what a later part leaves out from the part before it (unit, amount, timing)."""
    for seg in parts:
        if before is not None and before.amount is not None:
            if seg.amount is not None and seg.amount.unit == UNITLESS:
                seg.amount = Amount(seg.amount.value, before.amount.unit)
        before = seg


@lru_cache(maxsize=4096)
def parse_text(text: str) -> Sig:
    """Read a sig such as "1 tablet every morning and 2 tablets at bedtime" (cached)."""
    if len(text) > v.LONGEST_SIG_CHARS:
        return Sig(phases=())
    s, caps, doses = take_caps(normalize(text))
    s, total = take_total(drop_asides(s))
    phases: list[Phase] = []
    last: _Segment | None = None
    for chunk in _PHASES.split(s):
        days, chunk = _duration(chunk)
        parts = _parts(chunk)
        if not parts:
            if _STOP.match(chunk):
                phases.append(Phase((), days, stop=True))
            continue
        _inherit(parts, last)
        if phases and len(parts) == 1 and last is not None:
            # "2 mg at bedtime for a week, then 1 mg": the schedule carries over, or the amount.
            only = parts[0]
            if only.amount is None:
                only.amount = last.amount
            if only.per_day is None and not only.slots:
                only.per_day, only.slots = last.per_day, set(last.slots)
        phases.append(Phase(tuple(p.part() for p in parts), days))
        last = parts[-1]
    as_needed = any(p.as_needed for ph in phases for p in ph.parts)
    return Sig(tuple(phases), tuple(caps), None, doses, as_needed, total)


@lru_cache(maxsize=1024)
def timing_text(words: str) -> Span | None:
    """Times a day named by a timing code or its text ("Q4-6H", "Every 6 hours", "BID")."""
    if len(words) > v.LONGEST_SIG_CHARS:
        return None
    per_day = _segment(normalize(words)).part().per_day
    return per_day if per_day is not None and per_day.valid else None
