from datetime import date

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import DrugClass, PatientRecord, PlanFact, PlanKind
from tests.normalize.builders import care_plan, condition, gathered, service_request
from tests.normalize.conftest import TODAY

pytestmark = pytest.mark.usefixtures("fake_terms")


def record(settings: Settings, **kwargs: object) -> PatientRecord:
    return build_record(gathered(**kwargs), today=TODAY, settings=settings)


def plans(settings: Settings, **kwargs: object) -> list[PlanFact]:
    rec = record(settings, **kwargs)
    assert rec.skipped == {}
    return list(rec.plans)


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("active", True),
        ("draft", True),
        ("on-hold", True),
        ("completed", False),
        ("unknown", False),
    ],
)
def test_care_plan_taper_status(settings: Settings, status: str, active: bool) -> None:
    found = plans(
        settings,
        care_plans=[care_plan(status=status, title="Benzodiazepine taper", start="2024-04-01")],
    )
    assert found == [
        PlanFact(
            "CarePlan/cp1",
            PlanKind.TAPER_PLAN,
            date(2024, 4, 1),
            active,
            frozenset({DrugClass.BENZODIAZEPINE}),
        )
    ]


@pytest.mark.parametrize("status", ["revoked", "entered-in-error", "cancelled", "REVOKED"])
def test_withdrawn_plans_are_no_plans(settings: Settings, status: str) -> None:
    assert (
        plans(
            settings,
            care_plans=[care_plan(status=status, title="Benzodiazepine taper")],
            service_requests=[
                service_request(status=status, text="Referral for CBT-I"),
                service_request("sr2", status=status, text="Medication review"),
            ],
        )
        == []
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "Alprazolam taper"},
        {"category": "Taper plan"},
        {"description": "Taper over 12 weeks"},
        {"activity": ["Diabetic diet", "taper schedule"]},
    ],
)
def test_care_plan_sources_of_kind(settings: Settings, kwargs: dict) -> None:
    found = plans(settings, care_plans=[care_plan(**kwargs)])
    assert [p.kind for p in found] == [PlanKind.TAPER_PLAN]


def test_care_plan_with_two_kinds_and_created_date(settings: Settings) -> None:
    found = plans(
        settings,
        care_plans=[care_plan(title="Taper", activity=["CBT-I sessions"], created="2024-02-02")],
    )
    assert {(p.kind, p.recorded_on) for p in found} == {
        (PlanKind.TAPER_PLAN, date(2024, 2, 2)),
        (PlanKind.CBTI_REFERRAL, date(2024, 2, 2)),
    }


def test_unrelated_care_plan_gives_nothing(settings: Settings) -> None:
    assert plans(settings, care_plans=[care_plan(category="Diabetes self management plan")]) == []


def test_completed_cbti_counts_but_completed_review_does_not(settings: Settings) -> None:
    found = plans(
        settings,
        service_requests=[
            service_request(
                "a", status="completed", text="Referral for CBT-I", authored="2023-01-05"
            ),
            service_request("b", status="completed", text="Medication review"),
            service_request("c", status="revoked", text="Referral for CBT-I"),
            service_request("d", status="entered-in-error", text="Referral for CBT-I"),
            service_request(
                "e", status="active", text="Medication review", occurrenceDateTime="2024-06-10"
            ),
            service_request("f", status="active", text="Chest x-ray"),
        ],
    )
    assert found == [
        PlanFact("ServiceRequest/a", PlanKind.CBTI_REFERRAL, date(2023, 1, 5), True),
        PlanFact("ServiceRequest/b", PlanKind.MEDICATION_REVIEW, None, False),
        PlanFact("ServiceRequest/e", PlanKind.MEDICATION_REVIEW, date(2024, 6, 10), True),
    ]


def test_completed_cbti_care_plan_is_on_record(settings: Settings) -> None:
    title = "Cognitive behavioral therapy for insomnia"
    rec = record(settings, care_plans=[care_plan(status="completed", title=title)])
    assert rec.has_plan(PlanKind.CBTI_REFERRAL)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"care_plans": [care_plan(title="Taper", start="soon")]}, "CarePlan: unreadable"),
        ({"care_plans": [{**care_plan(title="Taper"), "activity": "x"}]}, "CarePlan: unreadable"),
        ({"care_plans": [{**care_plan(title="Taper"), "id": 7.5j}]}, "CarePlan: unreadable"),
        (
            {"service_requests": [service_request(text="CBT-I", authored="01/02/2024")]},
            "ServiceRequest: unreadable",
        ),
        (
            {"service_requests": [service_request(text="CBT-I", code="CBT-I")]},
            "ServiceRequest: unreadable",
        ),
    ],
)
def test_malformed_plans(settings: Settings, kwargs: dict, reason: str) -> None:
    rec = record(settings, **kwargs)
    assert rec.plans == () and rec.skipped == {reason: 1}


def test_plans_in_draft_orders_are_in_force(settings: Settings) -> None:
    drafts = [
        service_request("d1", status="draft", text="Referral for CBT-I"),
        care_plan("d2", status="draft", title="Alprazolam taper"),
        service_request("d3", status="entered-in-error", text="Referral for CBT-I"),
    ]
    found = plans(settings, hook="order-sign", drafts=drafts)
    assert {(p.ref, p.kind, p.is_active, p.recorded_on) for p in found} == {
        ("ServiceRequest/d1", PlanKind.CBTI_REFERRAL, True, TODAY),
        ("CarePlan/d2", PlanKind.TAPER_PLAN, True, TODAY),
    }


B, Z, OP = DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG, DrugClass.OPIOID
_RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.mark.parametrize(
    ("plan", "about"),
    [
        (care_plan(title="Alprazolam taper"), {B}),
        (care_plan(title="Opioid taper", activity=["Reduce oxycodone by 10% monthly"]), {OP}),
        (care_plan(title="Taper plan", description="Sedative-hypnotic deprescribing"), {B, Z}),
        (
            care_plan(
                category="Deprescribing taper", note=[{"text": "sleeping pills, per Pottie 2018"}]
            ),
            {B, Z},
        ),
        # Our own suggestion's shape: the product of each step names the drug.
        (
            {
                **care_plan(title="Gradual taper"),
                "activity": [
                    {
                        "detail": {
                            "kind": "MedicationRequest",
                            "status": "not-started",
                            "description": "2025-06-02: 0.875 mg/day",
                            "productCodeableConcept": {
                                "coding": [
                                    {
                                        "system": _RX,
                                        "code": "308047",
                                        "display": "alprazolam 0.25 MG Oral Tablet",
                                    }
                                ]
                            },
                        }
                    }
                ],
            },
            {B},
        ),
        (
            {
                **care_plan(title="Taper"),
                "activity": [
                    {
                        "detail": {
                            "status": "in-progress",
                            "description": "taper",
                            "productReference": {
                                "reference": "Medication/m",
                                "display": "Zolpidem 10 mg",
                            },
                        }
                    }
                ],
            },
            {Z},
        ),
        # What the plan addresses, when its words name no drug.
        (care_plan(title="Taper plan", addresses=[{"reference": "Condition/gad"}]), {B}),
        (care_plan(title="Taper plan", addresses=[{"display": "Chronic insomnia"}]), set()),
        (care_plan(title="Taper plan"), set()),
    ],
)
def test_taper_plan_says_what_it_is_about(settings: Settings, plan: dict, about: set) -> None:
    rec = build_record(
        gathered(care_plans=[plan], conditions=[condition("gad", text="Generalized anxiety")]),
        today=TODAY,
        settings=settings,
    )
    [fact] = [p for p in rec.plans if p.kind is PlanKind.TAPER_PLAN]
    assert fact.about == frozenset(about)


def test_taper_service_request_reads_its_code_and_reason(settings: Settings) -> None:
    found = plans(
        settings,
        service_requests=[
            service_request(text="Opioid tapering program", authored="2024-05-01"),
            service_request("b", text="Taper support", reasonCode=[{"text": "lorazepam use"}]),
        ],
    )
    assert [f.about for f in found] == [frozenset({OP}), frozenset({B})]


@pytest.mark.parametrize(
    ("resources", "found"),
    [
        (
            {
                "service_requests": [
                    service_request(
                        code={
                            "coding": [
                                {
                                    "system": "http://snomed.info/sct",
                                    "code": "385763009",
                                    "display": "Hospice care (regime/therapy)",
                                }
                            ]
                        }
                    )
                ]
            },
            True,
        ),
        ({"service_requests": [service_request(text="Referral to hospice")]}, True),
        ({"care_plans": [care_plan(title="Comfort care plan")]}, True),
        ({"care_plans": [care_plan(category="Palliative care")]}, True),
        ({"service_requests": [service_request(status="revoked", text="Hospice care")]}, False),
        ({"care_plans": [care_plan(title="Diabetes self management plan")]}, False),
    ],
)
def test_hospice_and_palliative_care_plans(
    settings: Settings, resources: dict, found: bool
) -> None:
    assert record(settings, **resources).has_plan(PlanKind.END_OF_LIFE_CARE) is found
