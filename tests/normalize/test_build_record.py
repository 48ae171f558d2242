from datetime import date, timedelta

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import DrugClass, PlanFact, PlanKind
from tests.normalize.builders import dosage, gathered, med_request, patient
from tests.normalize.conftest import TODAY

BENZO = frozenset({DrugClass.BENZODIAZEPINE})

pytestmark = pytest.mark.usefixtures("fake_terms")

ALPRAZOLAM = {"code": "308047", "display": "alprazolam 0.25 MG Oral Tablet"}


def iso(d: date) -> str:
    return d.isoformat()


@pytest.mark.parametrize(
    ("birth", "birth_date", "age"),
    [
        ("1959-06-01", date(1959, 6, 1), 65),  # 65th birthday today
        ("1959-06-02", date(1959, 6, 2), 64),
        ("1959-06", date(1959, 6, 1), 65),  # partial: first possible day (oldest age)
        ("1959", date(1959, 1, 1), 65),
        ("1959-12", date(1959, 12, 1), 64),
        (None, None, None),
    ],
)
def test_patient_age(
    settings: Settings, birth: str | None, birth_date: date | None, age: int | None
) -> None:
    rec = build_record(gathered(patient_resource=patient(birth)), today=TODAY, settings=settings)
    assert (rec.birth_date, rec.age, rec.skipped) == (birth_date, age, {})


def test_deceased_patient_age_still_at_today(settings: Settings) -> None:
    rec = build_record(
        gathered(patient_resource=patient("1950-01-01", deceasedDateTime="2000-01-01")),
        today=TODAY,
        settings=settings,
    )
    assert rec.age == 74
    rec = build_record(
        gathered(patient_resource=patient("1950-01-01", deceasedBoolean=True)),
        today=TODAY,
        settings=settings,
    )
    assert rec.age == 74


@pytest.mark.parametrize(
    ("birth", "reason"),
    [
        ("15/06/1950", "Patient: unreadable birthDate"),
        (1950, "Patient: unreadable birthDate"),
        ("2030-01-01", "Patient: birthDate after evaluation date"),
    ],
)
def test_bad_birth_date(settings: Settings, birth: object, reason: str) -> None:
    rec = build_record(gathered(patient_resource=patient(birth)), today=TODAY, settings=settings)
    assert (rec.age, rec.skipped) == (None, {reason: 1})


def test_no_patient_and_envelope(settings: Settings) -> None:
    rec = build_record(
        gathered(hook="order-sign", skipped={"conditions: fetch failed": 2}),
        today=TODAY,
        settings=settings,
    )
    assert (rec.patient_id, rec.hook, rec.evaluated_on, rec.age) == (
        "p1",
        "order-sign",
        TODAY,
        None,
    )
    assert rec.skipped == {"conditions: fetch failed": 2}


def test_gathered_skips_are_not_mutated(settings: Settings) -> None:
    g = gathered(meds=["junk"], skipped={"x": 1})
    rec = build_record(g, today=TODAY, settings=settings)
    assert rec.skipped == {"x": 1, "resource without resourceType": 1}
    assert g.skipped == {"x": 1}


def test_taper_note_adds_plan_for_bzra_only(settings: Settings) -> None:
    rec = build_record(
        gathered(
            meds=[
                med_request("b", **ALPRAZOLAM, authored="2024-05-01", notes=["taper by 10%/month"]),
                med_request("o", text="oxycodone 5 MG tablet", notes=["taper by 10%/month"]),
            ]
        ),
        today=TODAY,
        settings=settings,
    )
    assert rec.plans == (
        PlanFact("MedicationRequest/b", PlanKind.TAPER_PLAN, date(2024, 5, 1), True, BENZO),
    )
    assert rec.has_plan(PlanKind.TAPER_PLAN)


def _alp(id: str, start: date, mg_per_day: float, **kwargs: object) -> dict:
    return med_request(
        id,
        **ALPRAZOLAM,
        authored=iso(start),
        dosages=[dosage(value=mg_per_day, unit="mg", frequency=1, period=1)],
        **kwargs,
    )


def test_decreasing_dose_sequence_is_a_taper(settings: Settings) -> None:
    meds = [
        _alp("a", TODAY - timedelta(days=200), 2.0, status="completed"),
        _alp("b", TODAY - timedelta(days=100), 1.5, status="completed"),  # before window
        _alp("c", TODAY - timedelta(days=90), 1.0),
    ]  # window edge
    rec = build_record(gathered(meds=meds), today=TODAY, settings=settings)
    assert rec.plans == (
        PlanFact(
            "MedicationRequest/c", PlanKind.TAPER_PLAN, TODAY - timedelta(days=90), True, BENZO
        ),
    )


@pytest.mark.parametrize(
    "meds",
    [
        # increasing dose
        [_alp("a", TODAY - timedelta(days=60), 1.0), _alp("b", TODAY - timedelta(days=10), 2.0)],
        # reduction long ago
        [_alp("a", TODAY - timedelta(days=300), 2.0), _alp("b", TODAY - timedelta(days=91), 1.0)],
        # different ingredients
        [
            _alp("a", TODAY - timedelta(days=60), 2.0),
            med_request(
                "b",
                text="diazepam 5 MG tablet",
                authored=iso(TODAY - timedelta(days=10)),
                dosages=[dosage(value=1, unit="mg", frequency=1, period=1)],
            ),
        ],
        # opioids are not a benzodiazepine taper
        [
            med_request(
                i,
                text="oxycodone 5 MG tablet",
                authored=iso(TODAY - timedelta(days=d)),
                dosages=[dosage(value=v, unit="mg", frequency=1, period=1)],
            )
            for i, d, v in (("a", 60, 20.0), ("b", 10, 10.0))
        ],
        # unknown dose on one side
        [
            _alp("a", TODAY - timedelta(days=60), 2.0),
            med_request("b", **ALPRAZOLAM, authored=iso(TODAY - timedelta(days=10))),
        ],
        # cancelled lower order never happened
        [
            _alp("a", TODAY - timedelta(days=60), 2.0),
            _alp("b", TODAY - timedelta(days=10), 1.0, status="cancelled"),
        ],
    ],
)
def test_no_taper_sequence(settings: Settings, meds: list[dict]) -> None:
    assert build_record(gathered(meds=meds), today=TODAY, settings=settings).plans == ()


def test_lower_dose_draft_counts_as_taper(settings: Settings) -> None:
    chart = _alp("a", TODAY - timedelta(days=60), 2.0)
    draft = _alp("d", TODAY, 1.0, status="draft")
    rec = build_record(
        gathered(meds=[chart], drafts=[draft], hook="order-sign"), today=TODAY, settings=settings
    )
    assert rec.plans == (PlanFact("MedicationRequest/d", PlanKind.TAPER_PLAN, TODAY, True, BENZO),)
