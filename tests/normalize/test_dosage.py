"""The dose reader on hand-made Dosage shapes: structure, text, both, sequences, caps, PRN."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.normalize.dosage import DoseResult, daily_dose
from app.record import DoseConfidence
from tests.normalize.builders import dosage

EXACT, RANGE = DoseConfidence.EXACT, DoseConfidence.RANGE
PRN, UNKNOWN = DoseConfidence.AS_NEEDED_MAX, DoseConfidence.UNKNOWN
TODAY = date(2024, 6, 1)


def read(
    dosages: list[dict[str, Any]], strength: float | None = 0.5, unit: str = "mg", **kwargs: Any
) -> DoseResult:
    return daily_dose(dosages, strength, unit, **kwargs)


def shape(result: DoseResult) -> tuple[float | None, DoseConfidence, float | None]:
    rounded = None if result.daily_mg is None else round(result.daily_mg, 4)
    low = None if result.low_mg is None else round(result.low_mg, 4)
    return rounded, result.confidence, low


@pytest.mark.parametrize(
    ("dose", "strength", "expected"),
    [
        # tablets x strength x frequency / period
        (dosage(value=1, unit="tablet", frequency=2, period=1), 0.5, (1.0, EXACT, None)),
        (
            dosage(value=2, unit="{tbl}", frequency=1, period=12, period_unit="h"),
            0.5,
            (2.0, EXACT, None),
        ),
        (dosage(value=1, frequency=1, period=1), 5.0, (5.0, EXACT, None)),  # Synthea: no unit
        (dosage(value=1.5, unit="mg", frequency=3, period=1), 0.5, (4.5, EXACT, None)),
        (dosage(value=500, unit="mcg", frequency=2, period=1), None, (1.0, EXACT, None)),
        (
            dosage(value=1, unit="tablet", frequency=1, period=1, period_unit="wk"),
            7.0,
            (1.0, EXACT, None),
        ),
        (dosage(value=1, unit="tablet", timing_code="TID"), 2.0, (6.0, EXACT, None)),
        (dosage(value=1, unit="tablet", timing_code="Q4H"), 5.0, (30.0, EXACT, None)),
        # a dose range: the top, and the bottom beside it
        (
            dosage(dose_range=(1, 2), unit="tablet", frequency=1, period=6, period_unit="h"),
            1.0,
            (8.0, RANGE, 4.0),
        ),
        # PRN: the most allowed a day, the lower of the sig (8) and the cap (4 tablets)
        (
            dosage(
                value=1,
                unit="tablet",
                as_needed=True,
                frequency=1,
                period=3,
                period_unit="h",
                max_per_day=4,
            ),
            0.5,
            (2.0, PRN, None),
        ),
        # PRN without a frequency: up to the cap
        (dosage(value=1, unit="tablet", as_needed=True, max_per_day=4), 0.5, (2.0, PRN, None)),
        # structured dose, frequency from the text
        (dosage(value=1, unit="tablet", text="1 tablet twice daily"), 0.5, (1.0, EXACT, None)),
        # text only
        (dosage(text="take 1-2 tablets every 6 hours as needed"), 0.5, (4.0, PRN, None)),
        (dosage(text="0.5 mg twice daily"), None, (1.0, EXACT, None)),
        # missing pieces -> unknown
        (dosage(as_needed=True), 0.5, (None, UNKNOWN, None)),
        (dosage(value=1, unit="tablet"), 0.5, (None, UNKNOWN, None)),
        (dosage(value=1, unit="tablet", frequency=2, period=1), None, (None, UNKNOWN, None)),
        (dosage(value=1, unit="puffs?", frequency=2, period=1), 1.0, (None, UNKNOWN, None)),
    ],
)
def test_daily_dose(
    dose: dict[str, Any],
    strength: float | None,
    expected: tuple[float | None, DoseConfidence, float | None],
) -> None:
    assert shape(read([dose], strength)) == expected


def test_ml_dose_needs_a_per_ml_strength() -> None:
    assert read(
        [dosage(value=2, unit="mL", frequency=2, period=1)], 1.0, "mg/mL"
    ).daily_mg == pytest.approx(4.0)
    assert read([dosage(value=2, unit="mL", frequency=2, period=1)], 1.0, "mg").daily_mg is None


def test_patch_is_continuous_whatever_the_change_interval() -> None:
    # fentanyl 25 mcg/h patch changed every 72 h -> 0.025 mg/h x 24 h
    patch = read(
        [dosage(value=1, unit="patch", frequency=1, period=72, period_unit="h")], 0.025, "mg/hr"
    )
    assert patch.continuous and shape(patch) == (0.6, EXACT, None)
    text = read([dosage(text="apply 25 mcg/hr patch every 72 hours")], None)
    assert text.continuous and text.daily_mg == pytest.approx(0.6)


def test_generated_and_given_text() -> None:
    assert (
        read([dosage(value=1, unit="tablet", frequency=2, period=1)]).text
        == "1 tablet 2 times per day"
    )
    every = read(
        [dosage(value=1, unit="tablet", frequency=1, period=6, period_unit="h", as_needed=True)]
    )
    assert every.text == "1 tablet every 6 hours as needed"
    assert (
        read([dosage(text="Take 1 tab at bedtime", value=1, unit="tablet")], 10).text
        == "Take 1 tab at bedtime"
    )
    assert (
        read([{"patientInstruction": "Take 1 tablet at bedtime."}]).text
        == "Take 1 tablet at bedtime."
    )
    assert read(None).text is None


def test_dosages_without_sequence_or_with_the_same_one_add_up() -> None:
    morning = dosage(value=1, unit="tablet", text="1 tablet every morning")
    night = dosage(value=2, unit="tablet", text="2 tablets at bedtime")
    assert shape(read([morning, night])) == (1.5, EXACT, None)
    same = [{**morning, "sequence": 1}, {**night, "sequence": 1}]
    assert shape(read(same)) == (1.5, EXACT, None)


def test_sequences_are_phases_and_today_is_counted_from_the_start() -> None:
    first = dosage(sequence=1, value=2, unit="mg", frequency=1, period=1, bounds_days=14)
    second = dosage(sequence=2, value=1, unit="mg", frequency=1, period=1, bounds_days=14)
    phases = [second, first]  # listed out of order: sequence decides
    on_day = {
        days: shape(read(phases, start=TODAY - timedelta(days=days), today=TODAY))
        for days in (0, 13, 14, 27)
    }
    assert on_day == {
        0: (2.0, EXACT, None),
        13: (2.0, EXACT, None),
        14: (1.0, EXACT, None),
        27: (1.0, EXACT, None),
    }
    # past the last phase, or no start date: which phase is today cannot be told
    assert shape(read(phases, start=TODAY - timedelta(days=40), today=TODAY)) == (2.0, RANGE, 1.0)
    assert shape(read(phases)) == (2.0, RANGE, 1.0)


def test_phases_with_their_own_dates() -> None:
    first = dosage(
        sequence=1, value=2, unit="mg", frequency=1, period=1, bounds=("2024-05-01", "2024-05-20")
    )
    second = dosage(
        sequence=2, value=1, unit="mg", frequency=1, period=1, bounds=("2024-05-21", None)
    )
    assert shape(read([first, second], today=TODAY)) == (1.0, EXACT, None)
    assert shape(read([first, second], today=date(2024, 5, 10))) == (2.0, EXACT, None)


def test_text_taper_written_with_then() -> None:
    taper = dosage(
        text="Take 1 tablet by mouth 3 (three) times daily for 7 days, then "
        "1 tablet 2 (two) times daily for 7 days, then 1 tablet daily for 7 "
        "days, then stop."
    )
    assert shape(read([taper], 1.0, start=TODAY - timedelta(days=10), today=TODAY)) == (
        2.0,
        EXACT,
        None,
    )
    assert shape(read([taper], 1.0, start=TODAY, today=TODAY)) == (3.0, EXACT, None)
    assert shape(read([taper], 1.0)) == (3.0, RANGE, 1.0)


def test_structure_and_text_that_disagree_give_the_range_they_span() -> None:
    # structured 1 tablet twice a day, text 2 tablets twice a day
    both = dosage(value=1, unit="tablet", frequency=2, period=1, text="2 tablets twice daily")
    assert shape(read([both])) == (2.0, RANGE, 1.0)


def test_text_with_several_parts_wins_over_a_structure_holding_one_of_them() -> None:
    # Epic keeps the first part of a split dose in the structure and the whole in the text.
    split = dosage(
        value=1,
        unit="tablet",
        frequency=1,
        period=1,
        text="1 tablet every morning and 2 tablets at bedtime",
    )
    assert shape(read([split])) == (1.5, EXACT, None)


def test_a_schedule_above_its_own_cap_is_not_exact() -> None:
    capped = dosage(value=2, unit="tablet", frequency=3, period=1, max_per_day=4)
    assert shape(read([capped], 1.0)) == (4.0, RANGE, 4.0)


def test_lowest_of_several_caps_and_the_per_administration_cap() -> None:
    r5 = {
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
        "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}},
        "asNeeded": True,
        "asNeededFor": [{"text": "pain"}],
        "maxDosePerPeriod": [
            {"numerator": {"value": 6, "unit": "tablet"}, "denominator": {"value": 1, "unit": "d"}},
            {
                "numerator": {"value": 28, "unit": "tablet"},
                "denominator": {"value": 7, "unit": "d"},
            },
        ],
    }
    assert shape(read([r5], 5.0)) == (20.0, PRN, None)
    per_time = dosage(dose_range=(1, 2), unit="tablet", frequency=1, period=6, period_unit="h")
    per_time["maxDosePerAdministration"] = {"value": 1, "unit": "tablet"}
    assert shape(read([per_time], 5.0)) == (20.0, EXACT, None)


@pytest.mark.parametrize(
    ("strength", "expected"),
    [
        (0.5, (2.0, EXACT, None)),  # 2 x 0.5 mg = the 1 mg in parentheses
        (1.0, (4.0, EXACT, None)),  # the 1 mg is per tablet
        (0.25, (2.0, RANGE, 1.0)),  # 2 x 0.25 = 0.5 mg, not 1 mg: both readings kept
    ],
)
def test_mass_beside_a_count_is_checked(
    strength: float, expected: tuple[float, DoseConfidence, None]
) -> None:
    assert (
        shape(read([dosage(text="Take 2 tablets (1 mg) by mouth twice daily")], strength))
        == expected
    )


@pytest.mark.parametrize(
    ("bad", "wrong_type"),
    [
        ([{"doseAndRate": [{"doseQuantity": {"value": "one"}}]}], True),
        (
            [
                {
                    "timing": {"repeat": {"frequency": "2", "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1}}],
                }
            ],
            True,
        ),
        ([{"doseAndRate": "1 tablet", "timing": [1, 2]}], True),
        ("take one", True),
        (42, True),
        ([None, "x", []], True),
        (
            [
                {
                    "text": "0.5 mg three times daily",
                    "maxDosePerPeriod": {"numerator": {"value": True}},
                }
            ],
            True,
        ),
        # well-typed but not a dose: unknown, and not counted as unreadable
        (
            [
                {
                    "doseAndRate": [{"doseQuantity": {"value": 1e308}}],
                    "timing": {"repeat": {"frequency": 1e308, "period": 1, "periodUnit": "d"}},
                }
            ],
            False,
        ),
        (
            [
                {
                    "doseAndRate": [{"doseQuantity": {"value": 1}}],
                    "timing": {"repeat": {"frequency": 1, "period": 0, "periodUnit": "h"}},
                }
            ],
            False,
        ),
        ([{"text": "take 1/0 tablet every 0 hours"}], False),
    ],
)
def test_unreadable_dosages_are_unknown_not_errors(bad: Any, wrong_type: bool) -> None:
    result = read(bad)
    assert (result.daily_mg, result.confidence, result.unreadable) == (None, UNKNOWN, wrong_type)


def test_a_sig_longer_than_any_real_one_is_not_read() -> None:
    long_text = "Take 1 tablet by mouth twice daily. " + "Call if drowsy. " * 200
    assert read([dosage(text=long_text)]).confidence is UNKNOWN
    # the structured fields are still read
    both = dosage(text=long_text, value=1, unit="tablet", frequency=2, period=1)
    assert shape(read([both])) == (1.0, EXACT, None)
