"""The quick check of EHR values keeps and drops exactly what full R4B validation does.

Primitive level: any text (odd Unicode, every kind of whitespace, lone surrogates) is a valid
FHIR string / code for app.cards.fhir_values exactly when fhir.resources accepts it. Builder
level: records whose EHR-derived fields (patient id, drug and condition names, codes, refs)
are such text give the same suggestion kept or dropped under both checks, for every builder.
"""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.coding import Coding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.cards import resources
from app.cards.fhir_values import is_code, is_string
from app.cards.taper import build_schedule, careplan
from app.config import Settings
from app.record import (
    ConditionCategory,
    ConditionFact,
    DoseConfidence,
    DrugClass,
    MedicationUse,
    PatientRecord,
)

TODAY = date(2026, 11, 23)
# Every Unicode White_Space character, Python-only whitespace (U+001C..U+001F), controls,
# zero-width and other look-alikes, and lone surrogates.
ODD = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
    "\x1c\x1d\x1e\x1f\x00\x01\u180e\u200b\u200d\ufeff\ud800\udfff\U0001d518é"
)
odd_text = st.text(alphabet=st.one_of(st.sampled_from(ODD), st.characters()), max_size=8)


def full_accepts(field: str, value: str) -> bool:
    try:
        Coding.model_validate({"system": "http://example.org", field: value})
    except ValidationError:
        return False
    return True


@settings(max_examples=1500, deadline=None)
@given(odd_text)
def test_string_and_code_rules_match_fhir_resources(value: str) -> None:
    if value:
        assert is_string(value) == full_accepts("display", value)
        assert is_code(value) == full_accepts("code", value)


def test_the_rules_name_the_cases_that_differ_from_python() -> None:
    """Python's whitespace is wider than FHIR's (Unicode White_Space): both ways shown."""
    assert not is_string("\xa0\u2028") and is_string("\x1c") and is_string(" ")
    assert is_code("a\x1c\x1cb") and not is_code("a\xa0\xa0b") and not is_code("a\ud800")


def _med(name: str, ingredient: str | None, rxnorm: str | None) -> MedicationUse:
    return MedicationUse(
        ref="MedicationRequest/m1",
        name=name,
        drug_class=DrugClass.BENZODIAZEPINE,
        ingredient=ingredient,
        rxnorm=rxnorm,
        strength_mg=0.5,
        strength_unit="mg",
        daily_dose_mg=1.0,
        dose_confidence=DoseConfidence.EXACT,
        status="active",
        is_active=True,
        start=date(2026, 1, 1),
    )


def _both(build: object) -> tuple[bool, bool]:
    """(kept with the quick check, kept with full validation) for one builder call."""
    kept = []
    for full in (False, True):
        token = resources.FULL_VALIDATION.set(full)
        try:
            kept.append(build() is not None)  # type: ignore[operator]
        finally:
            resources.FULL_VALIDATION.reset(token)
    return kept[0], kept[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patient_id=odd_text.filter(bool),
    name=odd_text.filter(bool),
    ingredient=st.one_of(st.none(), st.sampled_from(["clonazepam", "lorazepam"]), odd_text),
    rxnorm=st.one_of(st.none(), odd_text),
    condition_name=odd_text,
    codes=st.lists(st.tuples(odd_text, odd_text), max_size=2),
    condition_id=odd_text,
)
def test_builders_keep_and_drop_alike(
    patient_id: str,
    name: str,
    ingredient: str | None,
    rxnorm: str | None,
    condition_name: str,
    codes: list[tuple[str, str]],
    condition_id: str,
) -> None:
    med = _med(name, ingredient, rxnorm)
    record = PatientRecord(
        patient_id=patient_id, hook="patient-view", evaluated_on=TODAY, medications=(med,)
    )
    insomnia = ConditionFact(
        ref=f"Condition/{condition_id}",
        name=condition_name,
        categories=frozenset({ConditionCategory.INSOMNIA}),
        is_active=True,
        codes=tuple(f"{s}|{c}" for s, c in codes),
    )
    schedule = build_schedule(med, TODAY, Settings(_env_file=None))  # type: ignore[call-arg]
    for build in (
        lambda: resources.naloxone_request(record),
        lambda: resources.cbti_referral(record, insomnia),
        lambda: resources.cbti_referral(record, None),
        lambda: careplan(record, schedule),
    ):
        quick, full = _both(build)
        assert quick == full


def test_a_lone_surrogate_in_a_name_drops_the_careplan_under_both() -> None:
    med = _med("clonazePAM \ud800 0.5 MG Oral Tablet", None, "197527")
    record = PatientRecord(patient_id="p1", hook="patient-view", evaluated_on=TODAY)
    schedule = build_schedule(med, TODAY, Settings(_env_file=None))  # type: ignore[call-arg]
    assert _both(lambda: careplan(record, schedule)) == (False, False)
    clean = _med("clonazePAM 0.5 MG Oral Tablet", "clonazepam", "197527")
    schedule = build_schedule(clean, TODAY, Settings(_env_file=None))  # type: ignore[call-arg]
    assert _both(lambda: careplan(record, schedule)) == (True, True)
