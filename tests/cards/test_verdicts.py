"""Each rule's verdict (app/cards/verdicts.py) is the indicator of the card it builds, or None.

Differential: hypothesis draws records from every drug class, flag and hook the rules read; the
generated exports' patients (population and all-on-everything mixes) go through the real
normalization. The dry run counts cards by verdict, so a verdict that differs from its card
would change the committee's figures.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.bulk.patient import NoMedications, gathered_for
from app.cards import (
    RULES,
    cbti_referral,
    fire_rules,
    geriatric,
    off_ramp,
    opioid_overlap,
    taper_plan,
)
from app.cards.verdicts import rule_verdicts
from app.config import Settings
from app.normalize import build_record
from app.record import ConditionCategory, DoseConfidence, MedicationUse, PatientRecord, PlanKind
from bench.bulk_export import make
from bench.data import EVALUATION_DATE
from tests.cards.builders import _CLASSES, cond, med, plan, record
from tests.cards.builders import settings as card_settings

MODULES = (opioid_overlap, taper_plan, off_ramp, geriatric, cbti_referral)


def _card_indicators(rec: PatientRecord, settings: Settings) -> dict[str, str]:
    firings = fire_rules(rec, settings)
    return {
        c.source.topic.code: c.indicator
        for c in firings.shown + firings.silent
        if c.source.topic is not None
    }


def _check(rec: PatientRecord, settings: Settings) -> None:
    for module in MODULES:
        cards = module.evaluate(rec, settings)
        assert module.verdict(rec, settings) == (cards[0].indicator if cards else None), (
            module.RULE_ID
        )
    assert rule_verdicts(rec, settings) == _card_indicators(rec, settings)


@st.composite
def _meds(draw: st.DrawFn) -> MedicationUse:
    ingredient = draw(st.sampled_from(sorted(_CLASSES)))
    draft = draw(st.booleans())
    confidence = draw(st.sampled_from(list(DoseConfidence)))
    daily = (
        None
        if confidence is DoseConfidence.UNKNOWN
        else draw(st.sampled_from([0.5, 2.0, 10.0, 40.0]))
    )
    return med(
        ingredient,
        ref=f"MedicationRequest/m{draw(st.integers(0, 99))}",
        days_ago=draw(st.sampled_from([0, 10, 27, 28, 29, 60, 200, 800])),
        daily=daily,
        confidence=confidence,
        low=daily / 2 if daily else None,
        draft=draft,
        selected=draft and draw(st.booleans()),
        active=draw(st.booleans()),
        injectable=draw(st.booleans()),
        moud=draw(st.booleans()),
        mme=draw(st.sampled_from([None, 10.0, 49.0, 50.0, 95.0])),
        stop_in_days=draw(st.sampled_from([None, 7, 14, 28, 90])),
        reasons=tuple(draw(st.sets(st.sampled_from(list(ConditionCategory)), max_size=2))),
        mentions_taper=draw(st.booleans()),
        inpatient=draw(st.booleans()),
        episode_days_ago=draw(st.sampled_from([None, 20, 120, 400])),
    )


_records = st.builds(
    lambda age, meds, conditions, plans, hook, missing: record(
        age=age, meds=meds, conditions=conditions, plans=plans, hook=hook, missing=missing
    ),
    age=st.sampled_from([None, 12, 17, 18, 45, 64, 65, 80]),
    meds=st.lists(_meds(), max_size=6),
    conditions=st.lists(
        st.builds(cond, st.sampled_from(list(ConditionCategory)), active=st.booleans()), max_size=4
    ),
    plans=st.lists(
        st.builds(
            plan,
            st.sampled_from(list(PlanKind)),
            days_ago=st.sampled_from([None, 10, 200]),
            active=st.booleans(),
        ),
        max_size=3,
    ),
    hook=st.sampled_from(["patient-view", "order-select", "order-sign"]),
    missing=st.sets(st.sampled_from(["Condition", "CarePlan", "ServiceRequest"]), max_size=2).map(
        tuple
    ),
)

_settings = st.builds(
    lambda modes, mme, long_term, geriatric_age: card_settings(
        rule_modes=modes, mme_critical=mme, long_term_days=long_term, geriatric_age=geriatric_age
    ),
    modes=st.dictionaries(
        st.sampled_from(list(RULES)), st.sampled_from(["active", "silent", "off"]), max_size=3
    ),
    mme=st.sampled_from([50, 90]),
    long_term=st.sampled_from([28, 90]),
    geriatric_age=st.sampled_from([65, 75]),
)


@hyp_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=_records, settings=_settings)
def test_verdict_is_the_card_indicator_on_drawn_records(
    rec: PatientRecord, settings: Settings
) -> None:
    _check(rec, settings)


def test_drawn_records_reach_every_rule_and_indicator() -> None:
    """The strategy is worth something: hand-picked draws fire each rule (a guard on _records)."""
    busy = record(
        age=70,
        hook="order-sign",
        conditions=[cond(ConditionCategory.INSOMNIA), cond(ConditionCategory.FALLS_FRACTURE)],
        meds=[
            med("alprazolam", daily=1, days_ago=200),
            med("oxycodone", mme=95),
            med("zolpidem", draft=True, selected=True),
        ],
    )
    fired = rule_verdicts(busy, card_settings())
    assert fired == _card_indicators(busy, card_settings())
    assert set(fired) == set(RULES)
    assert fired["opioid-benzodiazepine-overlap"] == "critical"


def test_verdict_on_generated_patients_through_normalization() -> None:
    """bench's generated charts (the exports' patients), population and all mixes, at several
    evaluation dates (long-term use, reviews and episodes change with the date)."""
    base = card_settings(evaluation_date=EVALUATION_DATE)
    fired = 0
    for mix, count in (("population", 150), ("all", 40)):
        for index in range(count):
            patient = make(index, 4242, mix)
            resources = [
                patient.patient,
                *patient.medications,
                *patient.conditions,
                *patient.care_plans,
                *patient.service_requests,
            ]
            gathered = gathered_for(patient.patient_id, resources, NoMedications())
            for days in (0, 45, 400):
                rec = build_record(
                    gathered, today=EVALUATION_DATE - timedelta(days=days), settings=base
                )
                _check(rec, base)
                fired += bool(rule_verdicts(rec, base))
    assert fired > 100  # the generated charts do fire rules: the check compared cards
