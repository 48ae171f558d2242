from datetime import date

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import ConditionCategory, ConditionFact, PatientRecord
from tests.normalize.builders import ICD10, SNOMED, condition, gathered
from tests.normalize.conftest import TODAY

pytestmark = pytest.mark.usefixtures("fake_terms")


def record(settings: Settings, *conds: object) -> PatientRecord:
    return build_record(gathered(conditions=list(conds)), today=TODAY, settings=settings)


def one(settings: Settings, cond: dict) -> ConditionFact:
    rec = record(settings, cond)
    assert rec.skipped == {} and len(rec.conditions) == 1
    return rec.conditions[0]


@pytest.mark.parametrize(
    ("kwargs", "active"),
    [
        ({"clinical": "active"}, True),
        ({"clinical": "recurrence"}, True),
        ({"clinical": "relapse"}, True),
        ({"clinical": "inactive"}, False),
        ({"clinical": "resolved"}, False),
        ({"clinical": "remission"}, False),
        ({"clinical": {"coding": [{"code": "Active"}]}}, True),  # case-insensitive
        ({"clinical": {"text": "resolved"}}, False),  # text-only concept
        ({"clinical": None, "clinicalStatus": "active"}, True),  # STU3 bare string
        ({"clinical": None, "clinicalStatus": "resolved"}, False),
        ({"clinical": None}, True),  # missing -> active
        ({"clinical": None, "abatementDateTime": "2024-05-31"}, False),  # abated yesterday
        ({"clinical": None, "abatementDateTime": "2024-06-01"}, True),  # abates today
        ({"clinical": None, "abatementDateTime": "2024-06"}, True),  # partial: end of month
        (
            {"clinical": None, "abatementPeriod": {"start": "2020-01-01", "end": "2021-01-01"}},
            False,
        ),
        ({"clinical": None, "abatementBoolean": True}, False),
        ({"clinical": "unknown", "abatementDateTime": "2020-01-01"}, False),
        ({"clinical": "unknown"}, True),
        ({"clinical": "active", "abatementDateTime": "2020-01-01"}, True),  # status is explicit
    ],
)
def test_clinical_status(settings: Settings, kwargs: dict, active: bool) -> None:
    assert one(settings, condition(text="Insomnia", **kwargs)).is_active is active


@pytest.mark.parametrize(
    "verification",
    [
        {"verificationStatus": {"coding": [{"code": "entered-in-error"}]}},
        {"verificationStatus": {"coding": [{"code": "refuted"}]}},
        {"verificationStatus": "entered-in-error"},  # STU3 code string
    ],
)
def test_refuted_and_errors_are_dropped(settings: Settings, verification: dict) -> None:
    rec = record(settings, condition(text="Insomnia", verification=None, **verification))
    assert rec.conditions == () and rec.skipped == {}
    assert not rec.has_condition(ConditionCategory.INSOMNIA, active_only=False)


@pytest.mark.parametrize(
    ("kwargs", "onset"),
    [
        ({"onset": "2019-03-04T10:00:00+02:00"}, date(2019, 3, 4)),
        ({"onsetPeriod": {"start": "2018-07"}}, date(2018, 7, 1)),
        ({"recordedDate": "2017-01-02"}, date(2017, 1, 2)),
        ({"onset": "2019-03-04", "recordedDate": "2017-01-02"}, date(2019, 3, 4)),
        ({"onsetString": "childhood"}, None),
        ({}, None),
    ],
)
def test_onset(settings: Settings, kwargs: dict, onset: date | None) -> None:
    assert one(settings, condition(text="Panic disorder", **kwargs)).onset == onset


def test_icd10_and_snomed_codes(settings: Settings) -> None:
    icd = one(settings, condition(code="F51.01", display="Primary insomnia", system=ICD10))
    assert icd.categories == {ConditionCategory.INSOMNIA}
    assert icd.codes == (f"{ICD10}|F51.01",) and icd.name == "Primary insomnia"
    snomed = one(
        settings,
        condition(
            code="80583007", display="Severe anxiety (panic) (finding)", system=SNOMED, text="Panic"
        ),
    )
    assert snomed.categories == {ConditionCategory.ANXIETY}
    assert snomed.name == "Panic" and snomed.ref == "Condition/c1"
    code_only = one(settings, condition(code="12345"))
    assert code_only.name == "12345" and code_only.categories == frozenset()


def test_record_helpers_see_active_only(settings: Settings) -> None:
    rec = record(
        settings,
        condition("a", text="Insomnia", clinical="resolved"),
        condition("b", text="Panic disorder"),
    )
    assert not rec.has_condition(ConditionCategory.INSOMNIA)
    assert rec.has_condition(ConditionCategory.INSOMNIA, active_only=False)
    assert [c.ref for c in rec.conditions_in(ConditionCategory.ANXIETY)] == ["Condition/b"]


@pytest.mark.parametrize(
    "bad",
    [
        condition(),  # no code
        condition(text="Insomnia", onset="sometime in 2019"),
        condition(text="Insomnia", clinical=None, clinicalStatus=5),
        {**condition(text="Insomnia"), "code": ["Insomnia"]},
        {**condition(text="Insomnia"), "id": ""},
    ],
)
def test_malformed_conditions(settings: Settings, bad: dict) -> None:
    rec = record(settings, bad, condition("ok", text="Insomnia"))
    assert [c.ref for c in rec.conditions] == ["Condition/ok"]
    assert rec.skipped == {"Condition: unreadable": 1}
