"""Sig text before the grammar reads it: one spelling per word and number, caps and noise out.

"Take 1 tablet (0.5 mg total) by mouth 2 (two) times daily. Max Daily Amount: 1 mg." becomes
"take 1 tablet =0.5 by mouth 2 times daily." with a cap of 1 mg a day set aside.
"""

from __future__ import annotations

import re

from app.normalize.sig import vocab as v
from app.normalize.sig.model import COUNT, MG, Amount, Span

NUM = r"(?:\d+(?:\.\d+)?|\.\d+)(?:/\d+(?:\.\d+)?)?"


def number(token: str) -> float | None:
    """A numeral as written ("0.5", ".5", "1/2"); None for 1/0 and other non-numbers."""
    try:
        if "/" in token:
            num, den = token.split("/", 1)
            d = float(den)
            return float(num) / d if d else None
        return float(token)
    except ValueError:
        return None


def span(a: str, b: str | None) -> Span | None:
    """A number or an increasing range "a-b"; None when either is not a positive number."""
    lo = number(a)
    hi = number(b) if b is not None else lo
    if lo is None or hi is None or lo <= 0 or hi < lo:
        return None
    return Span(lo, hi)


_DASHES = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00d7": "x", "\u00a0": " ", "\u2019": "'"}
)
_FRACTION_CHARS = re.compile("|".join(map(re.escape, v.UNICODE_FRACTIONS)))
_PLURAL = re.compile(r"\((e?s)\)")
_DOTTED = re.compile(r"(?<![a-z])((?:[a-z]\.){2,}[a-z]?)(?![a-z])")
_Q_DOT = re.compile(r"\bq\.\s*(?=\d)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TIMES_WORDS = re.compile(rf"\b({'|'.join(v.TIMES_WORDS)})\b")
_WORDS = re.compile(rf"(?<![a-z-])({v.alternation(v.NUMBER_WORDS)})(?![a-z-])")
_ARTICLE = re.compile(rf"\b(?:a|an)\s+(?=(?:{v.COUNT_ALT})\b)")
_MIXED_AND = re.compile(r"\b(\d+)\s+and\s+(0\.5|1/2|0\.25|1/4|0\.75|3/4)(?![\d/.])")
_MIXED = re.compile(r"\b(\d+)\s+(\d+/\d+)(?![\d/.])")
_TIMES_RANGE = re.compile(r"\b(\d+) times?\s*(-|or|to)\s*(\d+) times?\b")
_PAREN = re.compile(r"\(([^()]*)\)")
_PAREN_MASS = re.compile(rf"^\s*({NUM})\s*({v.MASS_ALT})\s*(total)?\s*$")
_NOISE = re.compile(
    rf"\b(?:disp(?:ense)?|qty|quantity)\s*:?\s*#?\s*{NUM}(?:\s*(?:{v.COUNT_ALT})\b)?"
    rf"|#\s*{NUM}|\b{NUM}\s*refills?\b|\brefills?\s*:?\s*{NUM}"
)
_CAP = re.compile(
    r"(?P<pre>(?:max(?:imum)?\.?|mdd|not to exceed|do not exceed|don't exceed|nte|no more than"
    r"|do not take more than|not more than|do not use more than|up to a max(?:imum)? of)"
    r"(?:\s+(?:total\s+)?(?:daily|per day|a day))?(?:\s+(?:dose|doses|amount|intake))?"
    r"(?:\s+(?:per day|a day|daily))?)"
    rf"\s*:?\s*(?:of\s+)?(?P<a>{NUM})(?:\s*(?:-|to)\s*(?P<b>{NUM}))?"
    rf"\s*(?P<unit>{v.TEXT_UNIT_ALT})?(?![a-z])"
    r"\s*(?P<per>(?:(?:per|a|/|in|every|each|within|in any|in a)\s*(?:1\s*)?"
    r"(?:day|24\s*(?:hours?|hrs?|h)|d)\b)|daily)?"
)
_DAILY_WORDS = re.compile(r"daily|per day|a day|mdd")


def normalize(text: str) -> str:
    """Lower case, one spelling per number ("two" -> 2, "1½" -> 1.5), "b.i.d." -> "bid"."""
    s = text.lower().translate(_DASHES)
    s = _FRACTION_CHARS.sub(lambda m: " " + v.UNICODE_FRACTIONS[m.group(0)], s)
    s = _PLURAL.sub(r"\1", s)
    s = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), s)
    s = _Q_DOT.sub("q", s)
    s = _THOUSANDS.sub("", s)
    s = _TIMES_WORDS.sub(lambda m: f"{v.TIMES_WORDS[m.group(1)]} times", s)
    s = _WORDS.sub(lambda m: f"{v.NUMBER_WORDS[m.group(1)]:g}", s)
    s = _ARTICLE.sub("1 ", s)
    s = _MIXED_AND.sub(lambda m: _mixed(m.group(1), m.group(2)), s)
    s = _MIXED.sub(lambda m: _mixed(m.group(1), m.group(2)), s)
    return _TIMES_RANGE.sub(r"\1-\3 times", s)


def _mixed(whole: str, fraction: str) -> str:
    part = number(fraction)
    return f"{float(whole) + part:g}" if part is not None and part < 1 else f"{whole} {fraction}"


def take_caps(s: str) -> tuple[str, list[Amount], float | None]:
    """Daily limits written in the sig ("max 4 tablets/day"), and the text without them."""
    caps: list[Amount] = []
    doses: float | None = None
    for m in _CAP.finditer(s):
        daily = bool(m.group("per")) or _DAILY_WORDS.search(m.group("pre")) is not None
        value = span(m.group("a"), m.group("b"))
        if not daily or value is None:
            continue  # a per-dose or unreadable limit: not a daily cap, but not a dose either
        unit = m.group("unit")
        if unit in v.DOSE_WORDS:
            doses = value.hi if doses is None else min(doses, value.hi)
            continue
        kind, factor = v.UNITS[unit] if unit else (COUNT, 1.0)
        caps.append(Amount(Span.of(value.hi * factor), kind))
    return _CAP.sub(" ", s), caps, doses


_TOTAL_DAILY = re.compile(
    rf"\b(?:total(?:\s+daily)?(?:\s+dose)?|tdd)\s*:?\s*(?:of\s+|=\s*)?(?P<a>{NUM})\s*"
    rf"(?P<unit>{v.MASS_ALT})(?![a-z])\s*(?:/\s*day|per day|a day|daily)?"
)


def take_total(s: str) -> tuple[str, Amount | None]:
    """A daily total the sig restates ("5 mg three times daily, total 15 mg/day")."""
    m = _TOTAL_DAILY.search(s)
    value = number(m.group("a")) if m else None
    if m is None or value is None or value <= 0:
        return s, None
    return s[: m.start()] + " " + s[m.end() :], Amount(
        Span.of(value * v.UNITS[m.group("unit")][1]), MG
    )


def drop_asides(s: str) -> str:
    """Parentheses out: "(5 mg total)" becomes a marker the grammar reads, the rest is dropped.

    Dropped asides are the number words Epic repeats ("2 (two)"), brand names, pain scales
    ("(7-10)") and the other half of a combination ("(8 mg buprenorphine / 2 mg naloxone)").
    """

    def aside(m: re.Match[str]) -> str:
        mass = _PAREN_MASS.match(m.group(1))
        if mass is None:
            return " "
        value = number(mass.group(1))
        if value is None or value <= 0:
            return " "
        mg = value * v.UNITS[mass.group(2)][1]
        return f" {'=' if mass.group(3) else '~'}{mg:.12g} "

    return _NOISE.sub(" ", _PAREN.sub(aside, s))
