"""The normalized patient record that every clinical rule reads.

Built from FHIR by ``app.normalize.build_record``; rules never see raw FHIR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from app.models.fast_init import fast_init


class DrugClass(StrEnum):
    BENZODIAZEPINE = "benzodiazepine"
    Z_DRUG = "z-drug"
    OPIOID = "opioid"
    GABAPENTINOID = "gabapentinoid"
    BARBITURATE = "barbiturate"
    OTHER_CNS_DEPRESSANT = "other-cns-depressant"
    RESCUE_NALOXONE = "rescue-naloxone"
    OTHER = "other"


# Classes that count as "benzodiazepine receptor agonists" (BZRA) for the taper,
# geriatric and CBT-I rules.
BZRA_CLASSES = frozenset({DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG})
# Non-opioid CNS depressants that trigger the overlap rule with an opioid (CDC 2022 rec. 11).
CNS_DEPRESSANT_CLASSES = frozenset(
    {
        DrugClass.BENZODIAZEPINE,
        DrugClass.Z_DRUG,
        DrugClass.GABAPENTINOID,
        DrugClass.BARBITURATE,
        DrugClass.OTHER_CNS_DEPRESSANT,
    }
)


class ConditionCategory(StrEnum):
    INSOMNIA = "insomnia"
    ANXIETY = "anxiety"  # anxiety or panic disorder
    SEVERE_GAD = "severe-generalized-anxiety"  # Beers exception
    SEIZURE = "seizure-disorder"
    WITHDRAWAL = "alcohol-or-benzodiazepine-withdrawal"
    REM_SLEEP_BEHAVIOR = "rem-sleep-behavior-disorder"  # Beers exception
    SLEEP_DISORDERED_BREATHING = "sleep-disordered-breathing"
    DEMENTIA_DELIRIUM = "dementia-or-delirium"
    FALLS_FRACTURE = "falls-or-fracture"
    CANCER = "cancer"
    END_OF_LIFE = "hospice-palliative-or-limited-life-expectancy"
    OPIOID_USE_DISORDER = "opioid-use-disorder"
    SUBSTANCE_USE_DISORDER = "other-substance-use-disorder"
    SICKLE_CELL = "sickle-cell-disease"


class DoseConfidence(StrEnum):
    """How sure the daily dose read from an order is (DESIGN.md "Reading real data").

    Only an ``exact`` dose may be shown as the patient's dose or feed a computed schedule.
    """

    EXACT = "exact"  # one fixed amount, fixed frequency
    RANGE = "range"  # "1-2 tablets", doseRange: daily_dose_mg is the top
    AS_NEEDED_MAX = "as-needed maximum"  # PRN: daily_dose_mg is the most allowed, not the use
    UNKNOWN = "unknown"  # nothing usable was read: daily_dose_mg is None


class PlanKind(StrEnum):
    TAPER_PLAN = "taper-plan"  # a documented benzodiazepine taper / deprescribing plan
    MEDICATION_REVIEW = "medication-review"  # a review / follow-up of the sedative
    CBTI_REFERRAL = "cbti-referral"  # CBT-I (or CBT for insomnia) referral or therapy
    # Hospice, palliative or terminal care ordered or planned (the CDC therapies-indicating-
    # end-of-life-care codes): outside the scope of Beers 2023, ASAM 2025 and CDC 2022.
    END_OF_LIFE_CARE = "end-of-life-care"


@fast_init
@dataclass(frozen=True, slots=True)
class MedicationUse:
    """One medication order (MedicationRequest, or a DSTU2 MedicationOrder) in normalized form."""

    ref: str  # "MedicationRequest/<id>" as it appears in the request
    name: str  # human-readable drug name for card text (display, text or code)
    drug_class: DrugClass
    ingredient: str | None = None  # lower-case generic ingredient, e.g. "alprazolam"
    rxnorm: str | None = None  # RxNorm code when the order carried one
    strength_mg: float | None = None  # mg per unit (tablet, capsule, mL, or per hour for patches)
    strength_unit: str | None = None  # "mg", "mg/ml", "mg/hr"
    # mg per day of the ingredient from dosageInstruction: the exact dose, the top of a range,
    # or the as-needed maximum, as dose_confidence says; None when unknown.
    daily_dose_mg: float | None = None
    dose_confidence: DoseConfidence = DoseConfidence.UNKNOWN
    daily_dose_low_mg: float | None = None  # bottom of the range (RANGE only)
    as_needed: bool = False  # a PRN order (asNeeded*), whatever else was read
    dose_unreadable: bool = False  # a dose/timing field had the wrong type (counted in skipped)
    dose_text: str | None = None  # the dosage instruction as written, for card text
    start: date | None = None
    end: date | None = None  # None = open-ended / unknown
    has_stop_date: bool = False  # the order itself states an end or a supply duration
    status: str = "unknown"  # FHIR status as sent (lower-case)
    is_draft: bool = False  # one of context.draftOrders
    is_selected: bool = False  # listed in order-select context.selections
    # A chart order in force (active/on-hold) at the evaluation date; drafts are never active.
    is_active: bool = False
    is_injectable: bool = False  # parenteral form: periprocedural use, not outpatient
    is_moud: bool = False  # buprenorphine/methadone product typical of OUD treatment
    mme_per_day: float | None = None  # CDC 2022 factors; opioids only
    diazepam_eq_mg_per_day: float | None = None  # ASAM 2025 table; BZRAs only
    reason_categories: frozenset[ConditionCategory] = frozenset()  # from reasonCode
    reason_text: str | None = None  # the order's reasons as written (BZRAs only), for cards
    # The order documents a taper: its note, instructions or reason say so, or its dosage
    # steps the dose down ("1 mg for 2 weeks, then 0.5 mg for 2 weeks, then stop").
    mentions_taper: bool = False
    authored_on: date | None = None
    # First day of continuous use of this ingredient across renewals (orders whose periods
    # follow with gaps <= settings.renewal_gap_days) when earlier orders lead up to this one;
    # None when the order starts its own episode (or has no start): use `start` then.
    episode_start: date | None = None
    is_inpatient: bool = False  # category inpatient: not outpatient (community) use

    @property
    def exact_dose_mg(self) -> float | None:
        """The daily dose only when read exactly: the one number a card may call 'the dose'."""
        return self.daily_dose_mg if self.dose_confidence is DoseConfidence.EXACT else None


@fast_init
@dataclass(frozen=True, slots=True)
class ConditionFact:
    """One Condition (problem-list item or diagnosis) reduced to category flags."""

    ref: str
    name: str
    categories: frozenset[ConditionCategory]
    is_active: bool
    onset: date | None = None
    codes: tuple[str, ...] = ()  # "system|code" pairs, for traceability in tests


@fast_init
@dataclass(frozen=True, slots=True)
class PlanFact:
    """Evidence of an existing plan: a taper CarePlan, a review, a CBT-I referral."""

    ref: str
    kind: PlanKind
    recorded_on: date | None
    is_active: bool
    # Drug classes the plan names (its words, products, or the conditions it addresses); empty
    # when it names none. Read for taper plans only.
    about: frozenset[DrugClass] = frozenset()


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything the rules know about one patient at one evaluation date."""

    patient_id: str
    hook: str
    evaluated_on: date
    birth_date: date | None = None
    age: int | None = None
    medications: tuple[MedicationUse, ...] = ()
    conditions: tuple[ConditionFact, ...] = ()
    plans: tuple[PlanFact, ...] = ()
    # What could not be read, counted by reason (no patient data), e.g. {"MedicationOrder": 2}
    skipped: dict[str, int] = field(default_factory=dict)
    # Resource types the EHR did not send and that could not be fetched (e.g. "CarePlan"):
    # rules that need one stay quiet, rules that only read one say what they could not check.
    missing_data: frozenset[str] = frozenset()

    def has_condition(self, category: ConditionCategory, *, active_only: bool = True) -> bool:
        return any(
            category in c.categories and (c.is_active or not active_only) for c in self.conditions
        )

    def conditions_in(self, category: ConditionCategory) -> list[ConditionFact]:
        return [c for c in self.conditions if c.is_active and category in c.categories]

    def has_plan(self, kind: PlanKind) -> bool:
        return any(p.kind == kind and p.is_active for p in self.plans)

    def lacks(self, *resource_types: str) -> list[str]:
        """Which of these resource types could not be had, in the order asked."""
        return [t for t in resource_types if t in self.missing_data]
