"""The dose reader's vocabulary (vocabulary.json), loaded once at import into dicts and regexes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.normalize.sig.model import COUNT, MG, MG_PER_H, ML

_DATA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "vocabulary.json").read_text(encoding="utf-8")
)


def _value(raw: float | str) -> float:
    """A table number; "1/7" is written as a fraction so the data file stays exact."""
    if isinstance(raw, str):
        num, den = raw.split("/")
        return float(num) / float(den)
    return float(raw)


def alternation(phrases: Iterable[str]) -> str:
    """One regex alternation, longest first, so "every morning" wins over "morning"."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "|".join(re.escape(p) for p in ordered)


_numbers = _DATA["number_words"]
NUMBER_WORDS: dict[str, float] = {k: _value(v) for k, v in _numbers["words"].items()}
UNICODE_FRACTIONS: dict[str, str] = dict(_numbers["unicode_fractions"])
TIMES_WORDS: dict[str, int] = dict(_numbers["times_words"])

_units = _DATA["units"]
# surface form -> (unit after reading, factor to that unit)
UNITS: dict[str, tuple[str, float]] = {}
for _name, _factor in _units["mass_mg"].items():
    UNITS[_name] = (MG, float(_factor))
for _name, _factor in _units["volume_ml"].items():
    UNITS[_name] = (ML, float(_factor))
for _name, _factor in _units["rate_mg_per_h"].items():
    UNITS[_name] = (MG_PER_H, float(_factor))
for _name in _units["count"]:
    UNITS[_name] = (COUNT, 1.0)
DOSE_WORDS: frozenset[str] = frozenset(_units["count_dose_words"])
for _name in DOSE_WORDS:
    UNITS[_name] = (COUNT, 1.0)
UNIT_ALT = alternation(UNITS)
# In free text a bare "1" is a number, never the UCUM unit "1".
TEXT_UNIT_ALT = alternation(u for u in UNITS if not u.isdigit())
MASS_ALT = alternation(_units["mass_mg"])
COUNT_ALT = alternation([*_units["count"], *DOSE_WORDS])

_freq = _DATA["frequency"]
PER_DAY: dict[str, float] = {k: _value(v) for k, v in _freq["per_day"].items()}
SLOTS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _freq["slots"].items()}
PHRASE_ALT = alternation([*PER_DAY, *SLOTS])
AS_NEEDED_ALT = alternation(_freq["as_needed"])
WEEKDAYS: dict[str, str] = dict(_freq["weekdays"])
WEEKDAY_ALT = alternation(WEEKDAYS)
AWAKE_HOURS: float = float(_freq["awake_hours"]["value"])

TIMING_CODES: dict[str, float] = {k: _value(v) for k, v in _DATA["timing_codes"]["per_day"].items()}
EVENT_TIMING: dict[str, float] = {
    k.upper(): float(v) for k, v in _DATA["event_timing"]["per_day"].items()
}
SNOMED_FREQUENCY: dict[str, tuple[float, float]] = {
    k: (_value(v[0]), _value(v[1])) for k, v in _DATA["snomed_frequency"]["per_day"].items()
}

_duration = _DATA["duration"]
DURATION_LEADS_ALT = alternation(_duration["lead_words"])
DURATION_FILLERS_ALT = alternation(_duration["fillers"])
DURATION_UNIT_DAYS: dict[str, float] = {k: _value(v) for k, v in _duration["units_days"].items()}
DURATION_UNIT_ALT = alternation(DURATION_UNIT_DAYS)

_limits = _DATA["limits"]
IMPLAUSIBLE_MG_PER_DAY: float = float(_limits["implausible_mg_per_day"])
IMPLAUSIBLY_SMALL_MG_PER_DAY: float = float(_limits["implausibly_small_mg_per_day"])
LONGEST_SIG_CHARS: int = int(_limits["longest_sig_chars"])
