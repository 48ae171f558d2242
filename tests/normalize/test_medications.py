from datetime import date, timedelta

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import ConditionCategory, DrugClass, MedicationUse, PatientRecord
from tests.normalize.builders import RXNORM, condition, dosage, gathered, med_request
from tests.normalize.conftest import TODAY

pytestmark = pytest.mark.usefixtures("fake_terms")

ALPRAZOLAM = {"code": "308047", "display": "alprazolam 0.25 MG Oral Tablet"}


def record(settings: Settings, *meds: dict, **kwargs: object) -> PatientRecord:
    return build_record(gathered(meds=list(meds), **kwargs), today=TODAY, settings=settings)


def one(settings: Settings, med: dict, **kwargs: object) -> MedicationUse:
    rec = record(settings, med, **kwargs)
    assert rec.skipped == {}
    assert len(rec.medications) == 1
    return rec.medications[0]


def iso(d: date) -> str:
    return d.isoformat()


@pytest.mark.parametrize(
    ("kwargs", "start", "end", "has_stop"),
    [
        ({"authored": "2024-05-01"}, date(2024, 5, 1), None, False),
        (
            {"authored": "2024-05-01", "dosages": [dosage(bounds=("2024-05-03", "2024-06-02"))]},
            date(2024, 5, 3),
            date(2024, 6, 2),
            True,
        ),
        (
            {"authored": "2024-05-01", "validity": ("2024-05-02", "2024-08-01")},
            date(2024, 5, 2),
            date(2024, 8, 1),
            True,
        ),
        # boundsPeriod wins over validityPeriod, validityPeriod over authoredOn
        (
            {
                "authored": "2024-05-01",
                "validity": ("2024-05-02", "2024-08-01"),
                "dosages": [dosage(bounds=("2024-05-03", "2024-05-20"))],
            },
            date(2024, 5, 3),
            date(2024, 5, 20),
            True,
        ),
        # supply: 30 days x (2 refills + 1) = 90 days
        (
            {"authored": "2024-05-01", "supply": (30, "days"), "repeats": 2},
            date(2024, 5, 1),
            date(2024, 7, 30),
            True,
        ),
        (
            {"authored": "2024-05-01", "supply": (30, "d")},
            date(2024, 5, 1),
            date(2024, 5, 31),
            True,
        ),
        (
            {"authored": "2024-05-01", "supply": (4, "wk")},
            date(2024, 5, 1),
            date(2024, 5, 29),
            True,
        ),
        (
            {"authored": "2024-05-01", "supply": (1, "mo")},
            date(2024, 5, 1),
            date(2024, 5, 31),
            True,
        ),
        ({"authored": "2024-05-01", "supply": (72, "h")}, date(2024, 5, 1), date(2024, 5, 4), True),
        ({"authored": "2023-05-01", "supply": (1, "a")}, date(2023, 5, 1), date(2024, 4, 30), True),
        (
            {"authored": "2024-05-01", "dosages": [dosage(bounds_days=14)]},
            date(2024, 5, 1),
            date(2024, 5, 15),
            True,
        ),
        # an open-ended boundsPeriod keeps the supply-based end
        (
            {
                "authored": "2024-05-01",
                "dosages": [dosage(bounds=("2024-05-10", None))],
                "supply": (10, "d"),
            },
            date(2024, 5, 10),
            date(2024, 5, 20),
            True,
        ),
        # an unknown supply unit still states a stop but cannot place it
        ({"authored": "2024-05-01", "supply": (3, "fortnights")}, date(2024, 5, 1), None, False),
    ],
)
def test_date_sources(
    settings: Settings, kwargs: dict, start: date, end: date | None, has_stop: bool
) -> None:
    med = one(settings, med_request(**ALPRAZOLAM, **kwargs))
    assert (med.start, med.end, med.has_stop_date) == (start, end, has_stop)


@pytest.mark.parametrize(
    ("kwargs", "active"),
    [
        ({"authored": iso(TODAY - timedelta(days=30)), "supply": (30, "d")}, True),  # end == today
        # The EHR's status beats the supply estimate: still active a month after it "ran out".
        ({"authored": iso(TODAY - timedelta(days=60)), "supply": (30, "d")}, True),
        (
            {
                "authored": iso(TODAY - timedelta(days=60)),
                "supply": (30, "d"),
                "status": "completed",
            },
            False,
        ),
        (
            {"authored": iso(TODAY - timedelta(days=60)), "supply": (30, "d"), "status": "stopped"},
            False,
        ),
        ({"authored": iso(TODAY - timedelta(days=730))}, True),  # CDC: authored within 2 years
        ({"authored": iso(TODAY - timedelta(days=731))}, False),
        ({"authored": None}, True),  # no date to disprove "active"
        ({"status": "on-hold"}, True),
        ({"status": "ACTIVE"}, True),
        ({"status": "stopped"}, False),
        ({"status": "completed"}, False),
        ({"status": "draft"}, False),  # a chart draft, not draftOrders
        ({"authored": "2024-07-01"}, True),  # future-dated, still in force
    ],
)
def test_is_active(settings: Settings, kwargs: dict, active: bool) -> None:
    assert one(settings, med_request(**ALPRAZOLAM, **kwargs)).is_active is active


def test_status_is_lower_case(settings: Settings) -> None:
    assert one(settings, med_request(**ALPRAZOLAM, status="On-Hold")).status == "on-hold"


def test_active_window_follows_settings(settings: Settings) -> None:
    old = med_request(**ALPRAZOLAM, authored="2010-01-01")
    assert not one(settings, old).is_active
    wide = settings.model_copy(update={"active_order_max_age_days": 100_000})
    assert one(wide, old).is_active


def test_drafts_and_selections(settings: Settings) -> None:
    chart_copy = med_request("d1", **ALPRAZOLAM, status="draft")
    draft_1 = med_request("d1", **ALPRAZOLAM, status="draft")
    draft_2 = med_request("d2", text="oxycodone 5 MG tablet", status="active")  # re-sign
    chart = med_request("m9", **ALPRAZOLAM)
    rec = record(
        settings,
        chart,
        chart_copy,
        hook="order-select",
        drafts=[draft_1, draft_2, {"resourceType": "ServiceRequest", "id": "s"}],
        selections=frozenset({"MedicationRequest/d2"}),
    )
    by_ref = {m.ref: m for m in rec.medications}
    assert list(by_ref) == ["MedicationRequest/m9", "MedicationRequest/d1", "MedicationRequest/d2"]
    assert by_ref["MedicationRequest/d1"].is_draft and not by_ref["MedicationRequest/d1"].is_active
    assert not by_ref["MedicationRequest/d1"].is_selected
    assert by_ref["MedicationRequest/d2"].is_draft and by_ref["MedicationRequest/d2"].is_selected
    assert not by_ref["MedicationRequest/d2"].is_active
    assert not by_ref["MedicationRequest/m9"].is_draft and by_ref["MedicationRequest/m9"].is_active
    assert rec.skipped == {}


def test_medication_reference_contained(settings: Settings) -> None:
    med = med_request(
        medicationReference={"reference": "#med1"},
        contained=[
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {"coding": [{"system": RXNORM, "code": "999", "display": "Diazepam 5 MG"}]},
            }
        ],
    )
    use = one(settings, med)
    assert (use.name, use.drug_class, use.ingredient, use.rxnorm) == (
        "Diazepam 5 MG",
        DrugClass.BENZODIAZEPINE,
        "diazepam",
        "999",
    )


@pytest.mark.parametrize(
    "ref", ["Medication/x1", "https://ehr.example/fhir/Medication/x1", "Medication/x1/_history/3"]
)
def test_medication_reference_gathered(settings: Settings, ref: str) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "x1",
        "code": {"text": "Zolpidem 10 MG Oral Tablet"},
    }
    use = one(
        settings,
        med_request(medicationReference={"reference": ref}),
        medications={"Medication/x1": medication},
    )
    assert (use.name, use.drug_class) == ("Zolpidem 10 MG Oral Tablet", DrugClass.Z_DRUG)


def test_medication_reference_by_full_url(settings: Settings) -> None:
    medication = {"resourceType": "Medication", "id": "x1", "code": {"text": "oxycodone 5 MG"}}
    use = one(
        settings,
        med_request(medicationReference={"reference": "urn:uuid:abc"}),
        medications={"urn:uuid:abc": medication},
    )
    assert use.drug_class == DrugClass.OPIOID


def test_medication_reference_display_and_unnamed(settings: Settings) -> None:
    shown = one(
        settings,
        med_request(
            medicationReference={"reference": "Medication/gone", "display": "ALPRAZolam 1 mg tab"}
        ),
    )
    assert (shown.name, shown.drug_class) == ("ALPRAZolam 1 mg tab", DrugClass.BENZODIAZEPINE)
    unnamed = one(settings, med_request(medicationReference={"reference": "Medication/gone"}))
    assert (unnamed.name, unnamed.drug_class) == ("unnamed medication", DrugClass.OTHER)


def test_name_prefers_text_then_rxnorm_display(settings: Settings) -> None:
    med = med_request(
        medicationCodeableConcept={
            "coding": [
                {"system": "urn:local", "code": "L1", "display": "LOCAL ALP 0.25"},
                {"system": RXNORM, "code": "308047", "display": "alprazolam 0.25 MG tab"},
            ],
            "text": "ALPRAZolam (XANAX) 0.25 mg tablet",
        }
    )
    assert one(settings, med).name == "ALPRAZolam (XANAX) 0.25 mg tablet"
    del med["medicationCodeableConcept"]["text"]
    assert one(settings, med).name == "alprazolam 0.25 MG tab"
    other = one(settings, med_request(code="1234", display=None))
    assert (other.name, other.drug_class, other.rxnorm) == ("1234", DrugClass.OTHER, "1234")


def test_mme_oral_and_transdermal(settings: Settings) -> None:
    oxy = one(
        settings,
        med_request(
            text="oxycodone 5 MG tablet",
            dosages=[dosage(value=1, unit="tablet", frequency=1, period=6, period_unit="h")],
        ),
    )
    assert oxy.daily_dose_mg == pytest.approx(20.0)
    assert oxy.mme_per_day == pytest.approx(30.0)  # x 1.5 (fake factor)
    assert oxy.diazepam_eq_mg_per_day is None
    patch = one(
        settings,
        med_request(
            text="fentanyl 25 MCG/HR transdermal system",
            dosages=[dosage(value=1, unit="patch", frequency=1, period=72, period_unit="h")],
        ),
    )
    assert patch.daily_dose_mg == pytest.approx(0.6)
    assert patch.mme_per_day == pytest.approx(60.0)  # 25 mcg/h x 2.4


def test_diazepam_equivalent(settings: Settings) -> None:
    use = one(
        settings, med_request(**ALPRAZOLAM, dosages=[dosage(text="0.5 mg three times a day")])
    )
    assert use.daily_dose_mg == pytest.approx(1.5)
    assert use.diazepam_eq_mg_per_day == pytest.approx(30.0)  # 1.5 / 0.5 x 10
    assert use.mme_per_day is None
    assert use.dose_text == "0.5 mg three times a day"


def test_missing_dosage_leaves_dose_unknown(settings: Settings) -> None:
    use = one(settings, med_request(**ALPRAZOLAM))
    assert (use.daily_dose_mg, use.dose_text, use.diazepam_eq_mg_per_day) == (None, None, None)


def test_reasons(settings: Settings) -> None:
    rec = build_record(
        gathered(
            meds=[
                med_request(
                    **ALPRAZOLAM,
                    reason_codes=[{"text": "Insomnia"}],
                    reason_refs=[
                        "Condition/c1",
                        "urn:uuid:c2",
                        "Condition/missing",
                        "Condition/refuted",
                    ],
                )
            ],
            conditions=[
                condition("c1", text="Panic disorder"),
                condition("c2", text="Epilepsy"),
                condition("refuted", text="Generalized anxiety", verification="refuted"),
            ],
        ),
        today=TODAY,
        settings=settings,
    )
    assert rec.medications[0].reason_categories == {
        ConditionCategory.INSOMNIA,
        ConditionCategory.ANXIETY,
        ConditionCategory.SEIZURE,
    }


@pytest.mark.parametrize(
    ("kwargs", "taper"),
    [
        ({"notes": ["Taper by 0.25 mg every 2 weeks"]}, True),
        ({"notes": ["Plan: TAPERING per ASAM"]}, True),
        ({"notes": ["decrease by 25% monthly"]}, True),
        ({"dosages": [dosage(text="0.5 mg at bedtime; wean off over 8 weeks")]}, True),
        ({"dosages": [dosage(text="1 tablet daily, dose reduction next visit")]}, True),
        ({"notes": ["Refill ok"], "dosages": [dosage(text="1 tablet daily")]}, False),
    ],
)
def test_mentions_taper(settings: Settings, kwargs: dict, taper: bool) -> None:
    assert one(settings, med_request(**ALPRAZOLAM, **kwargs)).mentions_taper is taper


def test_injectable_and_moud_flags(settings: Settings) -> None:
    mid = one(settings, med_request(text="Midazolam 1 MG/ML Injectable Solution"))
    assert mid.is_injectable and not mid.is_moud
    bup = one(settings, med_request(text="buprenorphine 8 MG Sublingual Tablet"))
    assert bup.is_moud and bup.drug_class == DrugClass.OPIOID


def test_entered_in_error_is_dropped_silently(settings: Settings) -> None:
    rec = record(settings, med_request(**ALPRAZOLAM, status="entered-in-error"))
    assert rec.medications == () and rec.skipped == {}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (med_request(**ALPRAZOLAM, authored="last tuesday"), "MedicationRequest: unreadable"),
        (med_request(**ALPRAZOLAM, authored=20240101), "MedicationRequest: unreadable"),
        (med_request(**ALPRAZOLAM, dosageInstruction="take one"), "MedicationRequest: unreadable"),
        (med_request(**ALPRAZOLAM, dispenseRequest=[1, 2]), "MedicationRequest: unreadable"),
        (
            med_request(**ALPRAZOLAM, dosages=[dosage(value=1, bounds=("2024-99-01", None))]),
            "MedicationRequest: unreadable",
        ),
        (med_request(**ALPRAZOLAM, repeats=-1, supply=(30, "d")), "MedicationRequest: unreadable"),
        (med_request(), "MedicationRequest: unreadable"),  # no medication at all
        ({**med_request(**ALPRAZOLAM), "id": None}, "MedicationRequest: unreadable"),
        (
            {**med_request(**ALPRAZOLAM), "medicationCodeableConcept": "alprazolam"},
            "MedicationRequest: unreadable",
        ),
        ("not a resource", "resource without resourceType"),
        (
            {"resourceType": "MedicationStatement", "id": "x"},
            "MedicationStatement: not supported here",
        ),
    ],
)
def test_malformed_orders_are_skipped_and_counted(
    settings: Settings, bad: object, reason: str
) -> None:
    good = med_request("ok", **ALPRAZOLAM)
    rec = record(settings, bad, good, skipped={"prefetch: invalid": 1})
    assert [m.ref for m in rec.medications] == ["MedicationRequest/ok"]
    assert rec.skipped == {reason: 1, "prefetch: invalid": 1}


def test_dstu2_medication_order(settings: Settings) -> None:
    order = {
        "resourceType": "MedicationOrder",
        "id": "mo1",
        "status": "active",
        "dateWritten": iso(TODAY - timedelta(days=10)),
        "medicationCodeableConcept": {"text": "Diazepam 5 MG Oral Tablet"},
        "dosageInstruction": [
            {
                "text": "1 tablet twice daily",
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "doseQuantity": {"value": 1, "unit": "tablet"},
            }
        ],
        "dispenseRequest": {"expectedSupplyDuration": {"value": 30, "unit": "days"}},
        "note": "taper planned next month",
        "reasonCodeableConcept": {"text": "Panic disorder"},
    }
    use = one(settings, order)
    assert use.ref == "MedicationOrder/mo1"
    assert use.authored_on == TODAY - timedelta(days=10)
    assert use.end == TODAY + timedelta(days=20) and use.has_stop_date and use.is_active
    assert use.daily_dose_mg == pytest.approx(10.0)
    assert use.diazepam_eq_mg_per_day == pytest.approx(10.0)
    assert use.mentions_taper and use.reason_categories == {ConditionCategory.ANXIETY}
    ended = one(settings, {**order, "dateEnded": iso(TODAY - timedelta(days=1))})
    assert ended.end == TODAY - timedelta(days=1) and not ended.is_active


@pytest.mark.parametrize(
    ("kwargs", "end", "has_stop"),
    [
        ({"supply": (30, "d"), "repeats": 1}, TODAY + timedelta(days=60), True),
        ({"dosages": [dosage(bounds_days=60)]}, TODAY + timedelta(days=60), True),
        (
            {"dosages": [dosage(bounds=(None, iso(TODAY + timedelta(days=60))))]},
            TODAY + timedelta(days=60),
            True,
        ),
        ({"validity": (None, iso(TODAY + timedelta(days=60)))}, TODAY + timedelta(days=60), True),
        # The supply is the use; a 6-month validity period is only how long it may be filled.
        (
            {"supply": (14, "d"), "validity": (iso(TODAY), iso(TODAY + timedelta(days=180)))},
            TODAY + timedelta(days=14),
            True,
        ),
        ({}, None, False),
    ],
)
def test_draft_without_authored_on_counts_from_today(
    settings: Settings, kwargs: dict, end: date | None, has_stop: bool
) -> None:
    draft = med_request("d1", **ALPRAZOLAM, status="draft", authored=None, **kwargs)
    rec = record(settings, hook="order-sign", drafts=[draft])
    [use] = rec.medications
    assert (use.start, use.end, use.has_stop_date) == (TODAY, end, has_stop)


def test_chart_order_without_any_date_keeps_no_start(settings: Settings) -> None:
    assert one(settings, med_request(**ALPRAZOLAM, authored=None, supply=(30, "d"))).start is None


@pytest.mark.parametrize(
    ("category", "inpatient"),
    [
        (
            [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                            "code": "inpatient",
                        }
                    ]
                }
            ],
            True,
        ),
        ([{"text": "Inpatient"}], True),  # text only (Epic)
        ({"coding": [{"code": "inpatient"}]}, True),  # STU3: one concept
        ([{"text": "Inpatient"}, {"text": "Discharge"}], False),  # discharge prescription
        ([{"coding": [{"code": "community"}]}], False),
        (None, False),
        ("inpatient", False),  # unreadable: outpatient
    ],
)
def test_inpatient_category(settings: Settings, category: object, inpatient: bool) -> None:
    extra = {} if category is None else {"category": category}
    assert one(settings, med_request(**ALPRAZOLAM, **extra)).is_inpatient is inpatient


def test_do_not_perform_orders_are_left_out(settings: Settings) -> None:
    rec = record(
        settings,
        med_request("m1", **ALPRAZOLAM, doNotPerform=True),
        med_request("m2", **ALPRAZOLAM, doNotPerform=False),
        hook="order-sign",
        drafts=[med_request("d1", **ALPRAZOLAM, status="draft", doNotPerform=True)],
    )
    assert [m.ref for m in rec.medications] == ["MedicationRequest/m2"]
    assert rec.skipped == {}
