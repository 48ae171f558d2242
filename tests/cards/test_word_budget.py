"""Every card of every rule fits the 100-word reading budget (issue #11), whatever the chart.

Generated charts: 1-12 opioids (PRN, scheduled, ranges, unreadable sigs, combination products,
patches, treatment of opioid use disorder, drafts), 1-6 benzodiazepines, Z-drugs and
gabapentinoids, the conditions that add exceptions and risks (or no Conditions sent at all),
an older or younger patient. All rules run, then the response pass, as the service answers.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.cards import RULES, budget, run_rules
from app.cards.response import respond
from app.record import DoseConfidence, DrugClass, MedicationUse, PatientRecord, PlanKind
from tests.cards.builders import C, check_card, cond, med, plan, record, settings
from tests.cards.markdown import DETAIL_WORDS_MAX, rendered_words

# (ingredient, name on the order, MME per mg/day or None when the factor is unknown)
OPIOIDS = [
    ("oxycodone", "oxyCODONE 5 MG Oral Tablet", 1.5),
    ("hydrocodone", "HYDROcodone bitartrate 5 MG / acetaminophen 325 MG Oral Tablet", 1.0),
    ("morphine", "morphine sulfate 15 MG Extended Release Oral Tablet", 1.0),
    ("hydromorphone", "HYDROmorphone HCl 2 MG Oral Tablet", 5.0),
    ("tramadol", "traMADol HCl 50 MG Oral Tablet", 0.2),
    ("codeine", "acetaminophen 300 MG / codeine phosphate 30 MG Oral Tablet", 0.15),
    ("fentanyl", "fentanyl 25 MCG/HR 72 HR Transdermal System", None),
    ("tapentadol", "tapentadol 50 MG Oral Tablet", 0.4),
    ("buprenorphine", "buprenorphine 8 MG / naloxone 2 MG Sublingual Film", None),
    ("methadone", "methadone HCl 10 MG Oral Tablet", 4.7),
]
SEDATIVES = [
    ("alprazolam", DrugClass.BENZODIAZEPINE, 0.5),
    ("lorazepam", DrugClass.BENZODIAZEPINE, 1),
    ("clonazepam", DrugClass.BENZODIAZEPINE, 0.5),
    ("diazepam", DrugClass.BENZODIAZEPINE, 5),
    ("temazepam", DrugClass.BENZODIAZEPINE, 15),
    ("zolpidem", DrugClass.Z_DRUG, 10),
    ("eszopiclone", DrugClass.Z_DRUG, 2),
    ("gabapentin", DrugClass.GABAPENTINOID, 300),
    ("pregabalin", DrugClass.GABAPENTINOID, 75),
]
SIGS = [
    "Take 1-2 tablets by mouth every 4-6 hours as needed for severe pain, not to exceed "
    "8 tablets in 24 hours",
    "use as directed",
    None,
]
CONFIDENCE = st.sampled_from(list(DoseConfidence))


@st.composite
def _opioid(draw: st.DrawFn, index: int) -> MedicationUse:
    ingredient, name, factor = draw(st.sampled_from(OPIOIDS))
    confidence = draw(CONFIDENCE)
    daily = (
        None
        if confidence is DoseConfidence.UNKNOWN
        else draw(st.sampled_from([2.5, 7.5, 20, 45, 120, 320]))
    )
    mme = None if daily is None or factor is None else round(daily * factor, 1)
    return med(
        ingredient,
        ref=f"MedicationRequest/o{index}",
        name=name,
        daily=daily,
        confidence=confidence,
        mme=mme,
        drug_class=DrugClass.OPIOID,
        low=daily / 2 if daily and confidence is DoseConfidence.RANGE else None,
        dose_text=draw(st.sampled_from(SIGS)),
        days_ago=draw(st.integers(1, 400)),
        stop_in_days=draw(st.sampled_from([None, 7, 30])),
        injectable=ingredient == "fentanyl" and draw(st.booleans()),
        moud=ingredient == "buprenorphine" and draw(st.booleans()),
        draft=draw(st.booleans()) and index == 0,
    )


@st.composite
def _sedative(draw: st.DrawFn, index: int) -> MedicationUse:
    ingredient, drug_class, strength = draw(st.sampled_from(SEDATIVES))
    confidence = draw(CONFIDENCE)
    units = draw(st.integers(1, 4))
    return med(
        ingredient,
        ref=f"MedicationRequest/s{index}",
        drug_class=drug_class,
        strength=strength,
        confidence=confidence,
        daily=None if confidence is DoseConfidence.UNKNOWN else strength * units,
        dose_text=draw(st.sampled_from(SIGS)),
        days_ago=draw(st.integers(1, 900)),
        episode_days_ago=draw(st.sampled_from([None, 1000])),
        reasons=draw(st.sampled_from([(), (C.SEVERE_GAD,), (C.INSOMNIA,)])),
    )


@st.composite
def charts(draw: st.DrawFn) -> PatientRecord:
    opioids = [draw(_opioid(i)) for i in range(draw(st.integers(1, 12)))]
    sedatives = [draw(_sedative(i)) for i in range(draw(st.integers(1, 6)))]
    extra = draw(st.lists(st.sampled_from(["naloxone", "lisinopril"]), max_size=2))
    categories = draw(
        st.lists(
            st.sampled_from(
                [
                    C.INSOMNIA,
                    C.ANXIETY,
                    C.SEVERE_GAD,
                    C.SEIZURE,
                    C.WITHDRAWAL,
                    C.REM_SLEEP_BEHAVIOR,
                    C.SLEEP_DISORDERED_BREATHING,
                    C.DEMENTIA_DELIRIUM,
                    C.FALLS_FRACTURE,
                    C.OPIOID_USE_DISORDER,
                    C.SUBSTANCE_USE_DISORDER,
                ]
            ),
            max_size=6,
            unique=True,
        )
    )
    no_conditions = draw(st.booleans()) and not categories
    plans = draw(
        st.lists(
            st.sampled_from(
                [PlanKind.TAPER_PLAN, PlanKind.MEDICATION_REVIEW, PlanKind.CBTI_REFERRAL]
            ),
            max_size=2,
            unique=True,
        )
    )
    return record(
        age=draw(st.sampled_from([None, 34, 58, 66, 81, 93])),
        meds=[
            *opioids,
            *sedatives,
            *(med(name, ref=f"MedicationRequest/{name}") for name in extra),
        ],
        conditions=[cond(category) for category in categories],
        plans=[plan(kind) for kind in plans],
        hook=draw(st.sampled_from(["patient-view", "order-sign"])),
        missing=("Condition",) if no_conditions else (),
    )


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charts())
def test_every_card_fits_the_budget(chart: PatientRecord) -> None:
    cards = respond(run_rules(chart, settings()), tuple(RULES))
    for card in cards:
        assert rendered_words(card.detail) <= DETAIL_WORDS_MAX, f"{card.summary}\n{card.detail}"
        # The cards' own count (what they fit to) is the rendered count.
        assert budget.words(card.detail) == rendered_words(card.detail), card.detail
        check_card(card, card.source.topic.code if card.source.topic else "")


def test_fitted_shortens_in_order_then_gives_back_what_fits() -> None:
    evidence = [["- " + "word " * 30], ["- " + "word " * 20], ["- word"]]
    risks = [["risk " * 60], ["risk " * 10]]
    action = [["do " * 45]]
    detail = budget.fitted([evidence, risks, action])
    # The evidence went to its shortest form and was not enough (1 + 60 + 45), the risks were
    # shortened, then the evidence got back its longest form: 30 + 10 + 45 words.
    assert detail.splitlines()[0] == evidence[0][0]
    assert budget.words(detail) == 85 == rendered_words(detail)
    assert budget.fitted([evidence, [["do " * 200]]]).startswith("- word\n")
