"""Property: whatever dosage the reader is given, the daily dose is a finite positive amount or
unknown: never zero, negative, infinite, NaN, or an exception."""

from __future__ import annotations

import math
import os
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.normalize.dosage import DoseResult, daily_dose
from app.normalize.sig import vocab
from app.record import DoseConfidence

# DOSE_FUZZ_EXAMPLES raises the count for a longer hunt; the default keeps the suite quick.
FUZZ = settings(
    max_examples=int(os.environ.get("DOSE_FUZZ_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EXTREMES = [
    0,
    0.0,
    -1,
    -0.5,
    1e308,
    -1e308,
    1e-308,
    5e-324,
    float("inf"),
    float("-inf"),
    float("nan"),
    2**64,
    True,
    False,
    "1",
    "",
    None,
]
numbers = (
    st.sampled_from(EXTREMES)
    | st.integers(-10, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
)
json_leaf = st.none() | st.booleans() | numbers | st.text(max_size=12)
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

units = (
    st.sampled_from(
        [
            "mg",
            "mcg",
            "g",
            "mL",
            "tablet",
            "TAB",
            "{tbl}",
            "1",
            "patch",
            "mg/h",
            "ug/h",
            "dose",
            "puffs?",
            "",
            "d",
            "h",
        ]
    )
    | json_values
)
quantity = st.fixed_dictionaries(
    {}, optional={"value": numbers | json_values, "unit": units, "code": units}
)
ratio = st.fixed_dictionaries({}, optional={"numerator": quantity, "denominator": quantity})
period_units = st.sampled_from(["s", "min", "h", "d", "wk", "mo", "a", "day", "x"]) | json_values
repeat = st.fixed_dictionaries(
    {},
    optional={
        "frequency": numbers,
        "frequencyMax": numbers,
        "period": numbers,
        "periodMax": numbers,
        "periodUnit": period_units,
        "periodUnits": period_units,
        "when": st.lists(
            st.sampled_from(["HS", "MORN", "C", "AC", "bogus"]) | json_leaf, max_size=3
        )
        | json_values,
        "timeOfDay": st.lists(st.text(max_size=8), max_size=3) | json_values,
        "dayOfWeek": st.lists(st.sampled_from(["mon", "wed", "fri"]), max_size=3) | json_values,
        "boundsDuration": quantity | json_values,
        "boundsPeriod": st.fixed_dictionaries(
            {},
            optional={
                "start": st.sampled_from(["2024-01-01", "2024-99-99", "9999-12-31", ""])
                | json_leaf,
                "end": st.sampled_from(["2024-02-01", "0001-01-01"]) | json_leaf,
            },
        ),
    },
)
codes = st.sampled_from(["BID", "TID", "Q4H", "Q0H", "Q1e308H", "WK", "229799001", "PRN", ""])
timing = st.fixed_dictionaries(
    {},
    optional={
        "repeat": repeat | json_values,
        "code": st.fixed_dictionaries(
            {},
            optional={
                "coding": st.lists(
                    st.fixed_dictionaries(
                        {}, optional={"code": codes | json_leaf, "system": json_leaf}
                    ),
                    max_size=2,
                )
                | json_values,
                "text": st.text(max_size=20) | json_leaf,
            },
        ),
    },
)

# Sig-like text: tokens the grammar knows, in any order, plus the nasty cases by name.
_WORDS = sorted(
    {
        *vocab.PER_DAY,
        *vocab.SLOTS,
        *vocab.NUMBER_WORDS,
        *vocab.UNITS,
        "every",
        "q",
        "hours",
        "then",
        "and",
        "for",
        "days",
        "max",
        "per day",
        "(",
        ")",
        "-",
        "/",
        "to",
        "x",
        "times",
        "daily",
        "prn",
        "may repeat",
        "stop",
        "total",
        "up to",
        "except",
        "increase by",
        ",",
        ".",
        ";",
        "#",
    }
)
token = st.sampled_from(_WORDS) | st.sampled_from(
    ["0", "1", "1/0", "0/0", "1e308", ".5", "2", "99999999999999999999", "½", "-3"]
)
sig_text = (
    st.lists(token, max_size=14).map(" ".join)
    | st.sampled_from(
        [
            "take 1/0 tablet",
            "0/0 mg every 0 hours",
            "1e308 mg every 1e-308 hours",
            "-1 tablet daily",
            "0 mg daily",
            "take 1 tablet every 0 hours",
            "1 tablet for 1e308 days then 2 tablets daily",
            "9" * 400 + " mg daily",
        ]
    )
    | st.text(max_size=60)
)
dosage = st.fixed_dictionaries(
    {},
    optional={
        "text": sig_text | json_leaf,
        "patientInstruction": sig_text,
        "sequence": numbers | json_leaf,
        "timing": timing | json_values,
        "asNeededBoolean": json_leaf,
        "asNeeded": json_leaf,
        "asNeededCodeableConcept": json_values,
        "doseAndRate": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "doseQuantity": quantity | json_values,
                    "doseRange": st.fixed_dictionaries(
                        {}, optional={"low": quantity, "high": quantity}
                    ),
                    "rateQuantity": quantity,
                    "rateRatio": ratio,
                },
            ),
            max_size=2,
        )
        | json_values,
        "doseQuantity": quantity,
        "maxDosePerPeriod": ratio | st.lists(ratio, max_size=2) | json_values,
        "maxDosePerAdministration": quantity | json_values,
    },
)
instructions = st.lists(dosage, max_size=3) | json_values
strengths = st.sampled_from(
    [None, 0.5, 1.0, 5.0, 0.025, 20.0, 0.0, -1.0, 1e308, 1e-308, float("nan"), float("inf")]
)
strength_units = st.sampled_from([None, "mg", "mg/ml", "mg/hr", "mg/actuat", "MG", ""])
dates = st.none() | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def _check(result: DoseResult) -> None:
    daily, low = result.daily_mg, result.low_mg
    assert not (result.unreadable and daily is not None)
    if daily is None:
        assert result.confidence is DoseConfidence.UNKNOWN and low is None
        return
    assert isinstance(daily, float) and math.isfinite(daily) and daily > 0
    assert result.confidence is not DoseConfidence.UNKNOWN
    if low is not None:
        assert result.confidence is DoseConfidence.RANGE
        assert math.isfinite(low) and 0 < low <= daily
    if result.confidence is DoseConfidence.RANGE:
        assert low is not None


@FUZZ
@given(instructions, strengths, strength_units, dates, dates)
def test_any_dosage_reads_as_a_finite_positive_amount_or_unknown(
    given_instructions: Any,
    strength: float | None,
    unit: str | None,
    start: date | None,
    today: date | None,
) -> None:
    _check(daily_dose(given_instructions, strength, unit, start=start, today=today))


@FUZZ
@given(sig_text, strengths)
def test_any_sig_text_reads_as_a_finite_positive_amount_or_unknown(
    text: str, strength: float | None
) -> None:
    _check(daily_dose([{"text": text}], strength, "mg"))


def test_the_named_nasty_cases_are_unknown() -> None:
    for text in (
        "take 1/0 tablet every 6 hours",
        "0/0 mg every 0 hours",
        "0 mg daily",
        "1e308 mg every 1 hours",
        "1 tablet every 0 hours",
    ):
        result = daily_dose([{"text": text}], 1.0, "mg")
        assert (result.daily_mg, result.confidence) == (None, DoseConfidence.UNKNOWN), text
    structured = [
        {
            "doseAndRate": [{"doseQuantity": {"value": value}}],
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        }
        for value in (0, -1, 1e308, 1e-308, float("nan"), float("inf"))
    ]
    for one in structured:
        assert daily_dose([one], 1.0, "mg").confidence is DoseConfidence.UNKNOWN, one
