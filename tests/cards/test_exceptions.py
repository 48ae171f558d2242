"""Issue #11 item 2: each exception applies where it belongs, as a table through the rule.

Records are built from Epic-shaped FHIR (tests/api/ehr_shapes.py) by the real normalizer and
terminology, so each row covers reading the exception as well as applying it.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.cards import geriatric, off_ramp, opioid_overlap, taper_plan
from app.config import Settings
from app.fhir.gathered import Gathered
from app.models.cards import Card
from app.normalize import build_record
from app.record import PatientRecord
from tests.api.ehr_shapes import (
    ANXIETY,
    INSOMNIA,
    PID,
    SNOMED,
    care_plan,
    condition,
    med_request,
    patient,
    renewals,
    service_request,
)
from tests.cards.builders import check_card
from tests.conftest import EVALUATION_DATE

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
RULES = {r.RULE_ID: r.evaluate for r in (taper_plan, off_ramp, geriatric, opioid_overlap)}
TAPER, OFF_RAMP, GERIATRIC, OVERLAP = (
    taper_plan.RULE_ID,
    off_ramp.RULE_ID,
    geriatric.RULE_ID,
    opioid_overlap.RULE_ID,
)

EPILEPSY = condition("cond-epilepsy", "Epilepsy", snomed="84757009", icd="G40.909")
ALCOHOL_WITHDRAWAL = condition("cond-aw", "Alcohol dependence with withdrawal", icd="F10.230")
OUD = condition("cond-oud", "Opioid dependence, uncomplicated", snomed="75544000", icd="F11.20")
PALLIATIVE = condition("cond-z515", "Encounter for palliative care", icd="Z51.5")
HOSPICE = {
    **service_request("sr-hospice", "Hospice care"),
    "code": {
        "coding": [
            {"system": SNOMED, "code": "385763009", "display": "Hospice care (regime/therapy)"}
        ]
    },
}


def reason(text: str) -> dict[str, Any]:
    return {"reasonCode": [{"text": text}]}


def sig(text: str) -> dict[str, Any]:
    return {"dosageInstruction": [{"text": text}]}


def draft(rid: str, drug: str, **extra: Any) -> dict[str, Any]:
    return med_request(
        rid, drug, status="draft", days_ago=None, supply_days=None, repeats=None, **extra
    )


def record(
    *,
    meds: tuple = (),
    conditions: tuple = (),
    care_plans: tuple = (),
    service_requests: tuple = (),
    drafts: tuple = (),
    hook: str = "patient-view",
    age: int = 52,
    selections: tuple[str, ...] | None = None,
) -> PatientRecord:
    if selections is None and hook == "order-select":
        selections = tuple(f"MedicationRequest/{d['id']}" for d in drafts)
    gathered = Gathered(
        patient_id=PID,
        hook=hook,
        patient=patient(age),
        medication_requests=list(meds),
        conditions=list(conditions),
        care_plans=list(care_plans),
        service_requests=list(service_requests),
        draft_orders=list(drafts),
        selections=frozenset(selections or ()),
    )
    return build_record(gathered, today=EVALUATION_DATE, settings=SETTINGS)


def one_card(rule: str, rec: PatientRecord) -> Card | None:
    cards = RULES[rule](rec, SETTINGS)
    assert len(cards) <= 1
    for card in cards:
        check_card(card, rule, patient_ref=f"Patient/{PID}")
    return cards[0] if cards else None


def check(
    rule: str,
    rec: PatientRecord,
    expected: str | None,
    names: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
) -> Card | None:
    card = one_card(rule, rec)
    assert (card.indicator if card else None) == expected
    for name in names:
        assert card is not None and name in card.summary, (name, card and card.summary)
    for name in absent:
        assert card is None or name not in card.summary + (card.detail or "")
    return card


# --- the seizure-disorder and withdrawal exceptions cover benzodiazepines used for them ------
CLONAZEPAM = med_request("mr-clz", "clonazepam", days_ago=200)
ZOLPIDEM = med_request("mr-zol", "zolpidem", days_ago=200, **reason("Insomnia"))
ALPRAZOLAM = med_request("mr-alp", "alprazolam", days_ago=200)
LORAZEPAM = med_request("mr-lor", "lorazepam", days_ago=200)

SEIZURE_CASES = [
    (
        "clonazepam, epilepsy on the problem list",
        TAPER,
        record(meds=(CLONAZEPAM,), conditions=(EPILEPSY,)),
        None,
        (),
        (),
    ),
    (
        "zolpidem for insomnia, epilepsy on the problem list",
        TAPER,
        record(meds=(ZOLPIDEM,), conditions=(EPILEPSY, INSOMNIA)),
        "warning",
        ("zolpidem",),
        (),
    ),
    (
        "zolpidem with no reason on the order, epilepsy on the list",
        TAPER,
        record(meds=(med_request("mr-zol", "zolpidem", days_ago=200),), conditions=(EPILEPSY,)),
        "warning",
        ("zolpidem",),
        (),
    ),
    (
        "clonazepam ordered for epilepsy, nothing on the list",
        TAPER,
        record(meds=(med_request("mr-clz", "clonazepam", days_ago=200, **reason("Epilepsy")),)),
        None,
        (),
        (),
    ),
    (
        "alprazolam ordered for panic disorder, epilepsy on the list",
        TAPER,
        record(
            meds=(med_request("mr-alp", "alprazolam", days_ago=200, **reason("Panic disorder")),),
            conditions=(EPILEPSY,),
        ),
        "warning",
        ("alprazolam",),
        (),
    ),
    (
        "zolpidem and clonazepam with epilepsy: the card is about zolpidem",
        TAPER,
        record(meds=(ZOLPIDEM, CLONAZEPAM), conditions=(EPILEPSY,)),
        "warning",
        ("zolpidem",),
        ("clonazepam",),
    ),
    (
        "lorazepam with alcohol withdrawal",
        TAPER,
        record(meds=(LORAZEPAM,), conditions=(ALCOHOL_WITHDRAWAL,)),
        None,
        (),
        (),
    ),
    (
        "zolpidem with alcohol withdrawal",
        TAPER,
        record(meds=(ZOLPIDEM,), conditions=(ALCOHOL_WITHDRAWAL,)),
        "warning",
        ("zolpidem",),
        (),
    ),
    (
        "new zolpidem draft, epilepsy: off-ramp",
        OFF_RAMP,
        record(drafts=(draft("d-zol", "zolpidem"),), conditions=(EPILEPSY,), hook="order-sign"),
        "info",
        ("zolpidem",),
        (),
    ),
    (
        "new clonazepam draft, epilepsy: no off-ramp",
        OFF_RAMP,
        record(drafts=(draft("d-clz", "clonazepam"),), conditions=(EPILEPSY,), hook="order-sign"),
        None,
        (),
        (),
    ),
    (
        "age 70, zolpidem, epilepsy: Beers warning",
        GERIATRIC,
        record(meds=(ZOLPIDEM,), conditions=(EPILEPSY,), age=70),
        "warning",
        ("zolpidem",),
        (),
    ),
    (
        "age 70, zolpidem with no reason, epilepsy: Beers warning",
        GERIATRIC,
        record(
            meds=(med_request("mr-zol", "zolpidem", days_ago=200),), conditions=(EPILEPSY,), age=70
        ),
        "warning",
        ("zolpidem",),
        (),
    ),
    (
        "age 70, clonazepam, epilepsy: Beers exception, info",
        GERIATRIC,
        record(meds=(CLONAZEPAM,), conditions=(EPILEPSY,), age=70),
        "info",
        ("clonazepam",),
        (),
    ),
]


@pytest.mark.parametrize(
    ("label", "rule", "rec", "expected", "names", "absent"),
    SEIZURE_CASES,
    ids=[c[0] for c in SEIZURE_CASES],
)
def test_benzodiazepine_exceptions(
    label: str,
    rule: str,
    rec: PatientRecord,
    expected: str | None,
    names: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    check(rule, rec, expected, names, absent)


# --- a taper plan counts only when it is about a sedative -----------------------------------
STEPPED = sig(
    "0.5 mg three times daily for 2 weeks, then 0.5 mg twice daily for 2 weeks, "
    "then 0.5 mg at bedtime for 2 weeks, then stop"
)
LOWER_NOW = {
    **med_request("mr-alprazolam-now", "alprazolam", days_ago=5),
    **sig("Take 1 tablet by mouth 2 (two) times daily."),
}
OXYCODONE = med_request("mr-oxy", "oxycodone", days_ago=40, prn=True)

PLAN_CASES = [
    ("no plan", record(meds=(ALPRAZOLAM,)), "warning"),
    (
        "opioid taper CarePlan",
        record(meds=(ALPRAZOLAM,), care_plans=(care_plan("cp-1", "Opioid taper"),)),
        "warning",
    ),
    (
        "CarePlan taper of oxycodone by its activity",
        record(
            meds=(ALPRAZOLAM,),
            care_plans=(
                {
                    **care_plan("cp-1", "Taper plan"),
                    "activity": [
                        {
                            "detail": {
                                "status": "in-progress",
                                "description": "Reduce oxyCODONE by 10% every month",
                            }
                        }
                    ],
                },
            ),
        ),
        "warning",
    ),
    (
        "taper plan addressing opioid use disorder",
        record(
            meds=(ALPRAZOLAM,),
            conditions=(OUD,),
            care_plans=(
                {
                    **care_plan("cp-1", "Taper plan"),
                    "addresses": [{"reference": "Condition/cond-oud"}],
                },
            ),
        ),
        "warning",
    ),
    (
        "opioid tapering referral",
        record(
            meds=(ALPRAZOLAM,),
            service_requests=(service_request("sr-1", "Opioid tapering program"),),
        ),
        "warning",
    ),
    (
        "alprazolam taper CarePlan",
        record(meds=(ALPRAZOLAM,), care_plans=(care_plan("cp-1", "Alprazolam taper"),)),
        None,
    ),
    (
        "sedative-hypnotic deprescribing CarePlan",
        record(
            meds=(ALPRAZOLAM,),
            care_plans=(
                {
                    **care_plan("cp-1", "Deprescribing plan"),
                    "description": "Slow taper of the sedative-hypnotic",
                },
            ),
        ),
        None,
    ),
    (
        "unnamed taper plan, the benzodiazepine is the only candidate",
        record(meds=(ALPRAZOLAM,), care_plans=(care_plan("cp-1", "Taper plan"),)),
        None,
    ),
    (
        "unnamed taper plan beside an opioid: may be the opioid's",
        record(meds=(ALPRAZOLAM, OXYCODONE), care_plans=(care_plan("cp-1", "Taper plan"),)),
        "warning",
    ),
    (
        "current order steps the dose down ('then ... then stop')",
        record(
            meds=(
                *renewals("alprazolam", months=3)[:-1],
                {**med_request("mr-alprazolam-now", "alprazolam", days_ago=5), **STEPPED},
            )
        ),
        None,
    ),
    (
        "draft renewal steps the dose down",
        record(
            meds=(ALPRAZOLAM,),
            drafts=({**draft("d-alp", "alprazolam"), **STEPPED},),
            hook="order-sign",
        ),
        None,
    ),
    (
        "renewal at a lower dose",
        record(meds=(*renewals("alprazolam", months=3)[:-1], LOWER_NOW)),
        None,
    ),
    ("renewal at the same dose", record(meds=tuple(renewals("alprazolam", months=3))), "warning"),
]


@pytest.mark.parametrize(("label", "rec", "expected"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_taper_plan_must_be_about_a_sedative(
    label: str, rec: PatientRecord, expected: str | None
) -> None:
    check(TAPER, rec, expected)


# --- a long-acting benzodiazepine draft that is part of a taper is the off-ramp -------------
OFF_RAMP_CASES = [
    ("diazepam draft, no taper words", (draft("d-dzp", "diazepam"),), "info"),
    (
        "diazepam draft: note says it is the switch for a taper",
        (
            {
                **draft("d-dzp", "diazepam"),
                "note": [{"text": "Switching from alprazolam to diazepam for gradual taper"}],
            },
        ),
        None,
    ),
    (
        "diazepam draft: its reason says taper",
        ({**draft("d-dzp", "diazepam"), **reason("Alprazolam taper (long-acting switch)")},),
        None,
    ),
    (
        "diazepam draft whose sig steps down to a stop",
        (
            {
                **draft("d-dzp", "diazepam"),
                **sig("5 mg twice daily for 2 weeks, then 5 mg daily for 2 weeks, then stop"),
            },
        ),
        None,
    ),
    (
        "short-acting lorazepam draft saying taper, open-ended: still an off-ramp card",
        ({**draft("d-lor", "lorazepam"), "note": [{"text": "taper as tolerated"}]},),
        "info",
    ),
    (
        "clonazepam (long-acting) draft, taper words",
        ({**draft("d-clz", "clonazepam"), **reason("Benzodiazepine taper")},),
        None,
    ),
]


@pytest.mark.parametrize(
    ("label", "drafts", "expected"), OFF_RAMP_CASES, ids=[c[0] for c in OFF_RAMP_CASES]
)
def test_off_ramp_is_the_taper_itself(label: str, drafts: tuple, expected: str | None) -> None:
    # The patient takes alprazolam long-term; the draft is a new drug for them.
    check(OFF_RAMP, record(meds=(ALPRAZOLAM,), drafts=drafts, hook="order-sign"), expected)


def test_documented_switch_also_counts_as_the_taper_plan() -> None:
    switch = {
        **draft("d-dzp", "diazepam"),
        "note": [{"text": "Switching from alprazolam to diazepam for gradual taper"}],
    }
    rec = record(meds=(ALPRAZOLAM,), drafts=(switch,), hook="order-sign")
    assert taper_plan.evaluate(rec, SETTINGS) == []


# --- Beers 2023 scope: not in hospice / end-of-life care, not periprocedural parenteral -----
BEERS_CASES = [
    ("lorazepam", record(meds=(LORAZEPAM,), age=80), "warning"),
    (
        "lorazepam, palliative care on the problem list",
        record(meds=(LORAZEPAM,), conditions=(PALLIATIVE,), age=80),
        None,
    ),
    (
        "lorazepam, hospice care ordered",
        record(meds=(LORAZEPAM,), service_requests=(HOSPICE,), age=80),
        None,
    ),
    (
        "zolpidem, comfort care plan",
        record(
            meds=(ZOLPIDEM,), care_plans=(care_plan("cp-comfort", "Comfort care plan"),), age=80
        ),
        None,
    ),
    (
        "hospice referral revoked",
        record(meds=(LORAZEPAM,), service_requests=({**HOSPICE, "status": "revoked"},), age=80),
        "warning",
    ),
    (
        "midazolam injection (periprocedural)",
        record(
            meds=(med_request("mr-mid", "midazolam-injection", days_ago=0, category="inpatient"),),
            age=80,
        ),
        None,
    ),
    (
        "lorazepam injection for agitation: Beers applies",
        record(
            meds=(
                med_request(
                    "mr-lor-iv", "lorazepam-injection", days_ago=0, category="inpatient", prn=True
                ),
            ),
            age=80,
        ),
        "warning",
    ),
]


@pytest.mark.parametrize(("label", "rec", "expected"), BEERS_CASES, ids=[c[0] for c in BEERS_CASES])
def test_beers_scope(label: str, rec: PatientRecord, expected: str | None) -> None:
    check(GERIATRIC, rec, expected)


@pytest.mark.parametrize("rule", [TAPER, OVERLAP])
def test_hospice_care_ordered_silences_the_other_guidelines_too(rule: str) -> None:
    meds = (ALPRAZOLAM, med_request("mr-oxy", "oxycodone", days_ago=200))
    assert one_card(rule, record(meds=meds)) is not None
    assert one_card(rule, record(meds=meds, service_requests=(HOSPICE,))) is None


# --- treatment of opioid use disorder (MOUD) with a benzodiazepine --------------------------
BUP = med_request("mr-bup", "buprenorphine-naloxone", days_ago=20)
DIAZEPAM = med_request("mr-dzp", "diazepam", days_ago=60)
METHADONE = med_request("mr-mtd", "methadone", days_ago=60)

MOUD_CASES = [
    ("buprenorphine/naloxone film", (BUP, DIAZEPAM), (OUD,), "buprenorphine", False),
    ("methadone for opioid use disorder", (METHADONE, ALPRAZOLAM), (OUD,), "methadone", False),
    ("buprenorphine product, no diagnosis coded", (BUP, DIAZEPAM), (), "buprenorphine", False),
    ("MOUD beside a pain opioid", (BUP, OXYCODONE, DIAZEPAM), (OUD,), "buprenorphine", True),
]


@pytest.mark.parametrize(
    ("label", "meds", "conditions", "moud", "pain"), MOUD_CASES, ids=[c[0] for c in MOUD_CASES]
)
def test_moud_is_kept_and_the_benzodiazepine_worked_on(
    label: str, meds: tuple, conditions: tuple, moud: str, pain: bool
) -> None:
    card = one_card(OVERLAP, record(meds=meds, conditions=conditions))
    assert card is not None and card.detail
    assert f"Do not withhold or reduce {moud}" in card.detail and "(FDA 2017)" in card.detail
    [line] = [x for x in card.detail.splitlines() if x.startswith(f"- **{moud}**")]
    assert "(treats opioid use disorder)" in line and "MME" not in line
    # Naloxone is offered (CDC 2022 rec. 8), as a suggestion.
    assert "Offer naloxone" in card.detail
    assert any(
        a.resource and a.resource["resourceType"] == "MedicationRequest"
        for s in card.suggestions or ()
        for a in s.actions or ()
    )
    if pain:  # the pain opioid keeps its MME, and CDC 2022 stays the source
        assert "(up to 30 MME/day)" in card.detail
        assert card.source.url == "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm"
    else:
        assert "MME" not in card.detail and "Work on the benzodiazepine" in card.detail
        assert card.source.url == "https://www.fda.gov/Drugs/DrugSafety/ucm575307.htm"
        assert "Keep the treatment" in card.summary


def test_methadone_for_pain_is_pain_style() -> None:
    card = one_card(OVERLAP, record(meds=(METHADONE, ALPRAZOLAM)))
    assert card is not None and "withhold" not in (card.detail or "")
    assert "(47 MME/day)" in (card.detail or "")


# --- naloxone is not offered again ----------------------------------------------------------
OXY_DRAFT = draft("d-oxy", "oxycodone", prn=True)
NALOXONE_DRAFT = draft("d-nlx", "naloxone", prn=True)
NALOXONE_CASES = [
    ("none on record", (), (OXY_DRAFT,), None, True, "Offer naloxone"),
    (
        "active naloxone order",
        (med_request("mr-nlx", "naloxone", days_ago=100, prn=True),),
        (OXY_DRAFT,),
        None,
        False,
        "Naloxone is on an active order.",
    ),
    (
        "naloxone draft, selected",
        (),
        (OXY_DRAFT, NALOXONE_DRAFT),
        None,
        False,
        "Naloxone is being ordered now.",
    ),
    (
        "naloxone draft, not selected",
        (),
        (OXY_DRAFT, NALOXONE_DRAFT),
        ("MedicationRequest/d-oxy",),
        False,
        "Naloxone is being ordered now.",
    ),
    (
        "inpatient naloxone order: no kit at home",
        (med_request("mr-nlx", "naloxone", days_ago=2, category="inpatient", prn=True),),
        (OXY_DRAFT,),
        None,
        True,
        "Offer naloxone",
    ),
    (
        "finished naloxone order",
        (med_request("mr-nlx", "naloxone", status="completed", days_ago=400, prn=True),),
        (OXY_DRAFT,),
        None,
        True,
        "Offer naloxone",
    ),
]


@pytest.mark.parametrize(
    ("label", "chart", "drafts", "selections", "offered", "text"),
    NALOXONE_CASES,
    ids=[c[0] for c in NALOXONE_CASES],
)
def test_naloxone_not_offered_again(
    label: str,
    chart: tuple,
    drafts: tuple,
    selections: tuple[str, ...] | None,
    offered: bool,
    text: str,
) -> None:
    rec = record(
        meds=(ALPRAZOLAM, *chart), drafts=drafts, hook="order-select", selections=selections
    )
    card = one_card(OVERLAP, rec)
    assert card is not None and text in (card.detail or "")
    naloxone = [s for s in card.suggestions or () if "naloxone" in s.label.lower()]
    assert bool(naloxone) is offered


def test_anxiety_and_insomnia_fixtures_are_valid() -> None:
    # The conditions shared with the HTTP tests classify as the rules expect.
    rec = record(meds=(ALPRAZOLAM,), conditions=(ANXIETY, INSOMNIA, EPILEPSY, OUD, PALLIATIVE))
    assert {c.ref for c in rec.conditions if c.categories} == {
        "Condition/cond-gad",
        "Condition/cond-insomnia",
        "Condition/cond-epilepsy",
        "Condition/cond-oud",
        "Condition/cond-z515",
    }
