import pytest

from app.normalize.dosage import daily_dose, parse_text
from app.normalize.errors import Malformed
from tests.normalize.builders import dosage


@pytest.mark.parametrize(("text", "amount", "unit", "per_day"), [
    ("0.5 mg twice daily", 0.5, "mg", 2.0),
    ("1 tablet at bedtime", 1.0, "tablet", 1.0),
    ("take 1-2 tablets every 6 hours as needed", 2.0, "tablets", 4.0),  # higher of the range
    ("1 capsule every 4-6 hours", 1.0, "capsule", 6.0),                 # shorter interval
    ("1 tab PO TID", 1.0, "tab", 3.0),
    ("Take one tablet by mouth daily", 1.0, "tablet", 1.0),
    ("1/2 tablet q8h prn", 0.5, "tablet", 3.0),
    ("2 mg three times a day", 2.0, "mg", 3.0),
    ("take 1 tablet 3x daily", 1.0, "tablet", 3.0),
    ("10 MG QHS", 10.0, "mg", 1.0),
    ("5 mg every other day", 5.0, "mg", 0.5),
    ("1 tablet b.i.d.", 1.0, "tablet", 2.0),
    ("0.25 mg four times a day", 0.25, "mg", 4.0),
    ("Take as needed.", None, None, None),
])
def test_parse_text(text: str, amount: float | None, unit: str | None,
                    per_day: float | None) -> None:
    assert parse_text(text) == (amount, unit, per_day)


@pytest.mark.parametrize(("dose", "strength", "daily"), [
    # structured: tablets x strength x frequency/period
    (dosage(value=1, unit="tablet", frequency=2, period=1), 0.5, 1.0),
    (dosage(value=2, unit="{tbl}", frequency=1, period=12, period_unit="h"), 0.5, 2.0),
    (dosage(value=1, frequency=1, period=1), 5.0, 5.0),              # Synthea unitless dose
    (dosage(value=1.5, unit="mg", frequency=3, period=1), 0.5, 4.5),  # mg ignores strength
    (dosage(value=500, unit="mcg", frequency=2, period=1), None, 1.0),
    (dosage(value=1, unit="tablet", frequency=1, period=1, period_unit="wk"), 7.0, 1.0),
    (dosage(value=1, unit="tablet", timing_code="TID"), 2.0, 6.0),
    (dosage(value=1, unit="tablet", timing_code="Q4H"), 5.0, 30.0),
    (dosage(dose_range=(1, 2), unit="tablet", frequency=1, period=6, period_unit="h"), 1.0, 8.0),
    # PRN with a maximum: the maximum is the risk figure
    (dosage(value=1, unit="tablet", as_needed=True, max_per_day=4), 0.5, 2.0),
    # structured dose + free-text frequency
    (dosage(value=1, unit="tablet", text="1 tablet twice daily"), 0.5, 1.0),
    # text only
    (dosage(text="take 1-2 tablets every 6 hours as needed"), 0.5, 4.0),
    (dosage(text="0.5 mg twice daily"), None, 1.0),
    # missing pieces -> unknown
    (dosage(as_needed=True), 0.5, None),
    (dosage(value=1, unit="tablet"), 0.5, None),
    (dosage(value=1, unit="tablet", frequency=2, period=1), None, None),  # strength unknown
    (dosage(value=1, unit="puffs?", frequency=2, period=1), 1.0, None),   # unknown unit
])
def test_daily_dose(dose: dict, strength: float | None, daily: float | None) -> None:
    result = daily_dose([dose], strength, "mg")
    assert result.daily_mg == (None if daily is None else pytest.approx(daily))


def test_ml_dose_uses_mg_per_ml_strength() -> None:
    result = daily_dose([dosage(value=2, unit="mL", frequency=2, period=1)], 1.0, "mg/mL")
    assert result.daily_mg == pytest.approx(4.0)
    assert daily_dose([dosage(value=2, unit="mL", frequency=2, period=1)], 1.0, "mg").daily_mg \
        is None


def test_patch_is_continuous_whatever_the_change_interval() -> None:
    # fentanyl 25 mcg/h patch changed every 72 h -> 0.025 mg/h x 24 h
    result = daily_dose([dosage(value=1, unit="patch", frequency=1, period=72, period_unit="h")],
                        0.025, "mg/hr")
    assert result.continuous
    assert result.daily_mg == pytest.approx(0.6)
    text = daily_dose([dosage(text="apply 25 mcg/hr patch every 72 hours")], None, None)
    assert text.continuous and text.daily_mg == pytest.approx(0.6)


def test_generated_and_given_text() -> None:
    generated = daily_dose([dosage(value=1, unit="tablet", frequency=2, period=1)], 0.5, "mg")
    assert generated.text == "1 tablet 2 times per day"
    every = daily_dose([dosage(value=1, unit="tablet", frequency=1, period=6, period_unit="h",
                               as_needed=True)], 0.5, "mg")
    assert every.text == "1 tablet every 6 hours as needed"
    given = daily_dose([dosage(text="Take 1 tab at bedtime", value=1, unit="tablet")], 10, "mg")
    assert given.text == "Take 1 tab at bedtime"
    assert daily_dose(None, 1.0, "mg").text is None


def test_concurrent_dosages_add_up() -> None:
    morning = dosage(sequence=1, value=0.5, unit="mg", frequency=1, period=1)
    night = dosage(sequence=1, value=1, unit="mg", frequency=1, period=1)
    later = dosage(sequence=2, value=5, unit="mg", frequency=1, period=1)
    assert daily_dose([morning, night, later], None, None).daily_mg == pytest.approx(1.5)


def test_wrong_types_raise_malformed() -> None:
    with pytest.raises(Malformed):
        daily_dose([{"doseAndRate": [{"doseQuantity": {"value": "one"}}]}], 1.0, "mg")
    with pytest.raises(Malformed):
        daily_dose([{"timing": {"repeat": {"frequency": "2", "period": 1, "periodUnit": "d"}},
                     "doseAndRate": [{"doseQuantity": {"value": 1}}]}], 1.0, "mg")
