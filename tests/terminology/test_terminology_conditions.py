"""classify_condition and classify_plan: codes, ICD-10-CM prefixes and keywords."""

from __future__ import annotations

import pytest

from app.record import ConditionCategory as C
from app.record import PlanKind
from app.terminology import classify_condition, classify_plan

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
PLAN = "urn:benzo-safety-cds:plan"

TEXT_CASES = [
    ("Epilepsy", {C.SEIZURE}),
    ("Seizure disorder", {C.SEIZURE}),
    ("Severe anxiety (panic) (finding)", {C.ANXIETY}),
    ("Generalized anxiety disorder", {C.ANXIETY, C.SEVERE_GAD}),
    ("Sleep disorder (disorder)", set()),
    ("Chronic insomnia", {C.INSOMNIA}),
    ("Difficulty falling asleep", set()),
    ("Obstructive sleep apnea syndrome", {C.SLEEP_DISORDERED_BREATHING}),
    ("History of fall", {C.FALLS_FRACTURE}),
    ("Fracture of hip", {C.FALLS_FRACTURE}),
    ("At risk for falls", set()),
    ("Fallopian tube cyst", set()),
    ("Alzheimer's disease (disorder)", {C.DEMENTIA_DELIRIUM}),
    ("Vascular dementia", {C.DEMENTIA_DELIRIUM}),
    ("Delirium", {C.DEMENTIA_DELIRIUM}),
    ("Sickle cell anemia", {C.SICKLE_CELL}),
    ("Sickle cell trait", set()),
    ("Malignant neoplasm of breast", {C.CANCER}),
    ("Non-small cell carcinoma of lung, TNM stage 1", {C.CANCER}),
    ("Acute myeloid leukemia", {C.CANCER}),
    ("History of malignant neoplasm of breast", set()),
    ("Carcinoma in situ of prostate (disorder)", set()),
    ("Neoplasm of prostate", set()),
    ("Palliative care", {C.END_OF_LIFE}),
    ("Hospice care", {C.END_OF_LIFE}),
    ("Opioid use disorder, moderate", {C.OPIOID_USE_DISORDER}),
    ("Alcohol dependence", {C.SUBSTANCE_USE_DISORDER}),
    ("Alcohol withdrawal syndrome", {C.WITHDRAWAL}),
    ("REM sleep behavior disorder", {C.REM_SLEEP_BEHAVIOR}),
    ("Family history of epilepsy", set()),
    ("Hypertension", set()),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES)
def test_keywords(text: str, expected: set[C]) -> None:
    assert classify_condition([], text) == frozenset(expected)
    assert classify_condition([(SCT, "0", text)], None) == frozenset(expected)


CODE_CASES = [
    ((SCT, "193462001"), {C.INSOMNIA}),
    ((SCT, "39898005"), set()),  # Sleep disorder
    ((SCT, "84757009"), {C.SEIZURE}),
    ((SCT, "128613002"), {C.SEIZURE}),
    ((SCT, "78275009"), {C.SLEEP_DISORDERED_BREATHING}),  # CDC SDB set
    ((SCT, "5602001"), {C.OPIOID_USE_DISORDER}),  # CDC OUD set
    ((SCT, "7200002"), {C.SUBSTANCE_USE_DISORDER}),  # CDC substance misuse
    ((SCT, "103735009"), {C.END_OF_LIFE}),  # palliative care
    ((SCT, "300936002"), {C.END_OF_LIFE}),  # terminal illness
    ((SCT, "127040003"), {C.SICKLE_CELL}),
    ((SCT, "26929004"), {C.DEMENTIA_DELIRIUM}),
    ((SCT, "21897009"), {C.ANXIETY, C.SEVERE_GAD}),
    ((ICD, "G47.00"), {C.INSOMNIA}),
    ((ICD, "f51.01"), {C.INSOMNIA}),
    ((ICD, "F51.9"), set()),
    ((ICD, "G47.33"), {C.SLEEP_DISORDERED_BREATHING}),
    ((ICD, "G47.411"), set()),  # narcolepsy filtered out
    ((ICD, "F13.282"), {C.SUBSTANCE_USE_DISORDER}),  # not SDB
    ((ICD, "F41.1"), {C.ANXIETY, C.SEVERE_GAD}),
    ((ICD, "F41.9"), {C.ANXIETY}),
    ((ICD, "G40.909"), {C.SEIZURE}),
    ((ICD, "G40909"), {C.SEIZURE}),
    ((ICD, "F10.230"), {C.WITHDRAWAL, C.SUBSTANCE_USE_DISORDER}),
    ((ICD, "F13.239"), {C.WITHDRAWAL, C.SUBSTANCE_USE_DISORDER}),
    ((ICD, "F11.20"), {C.OPIOID_USE_DISORDER}),
    ((ICD, "G47.52"), {C.REM_SLEEP_BEHAVIOR}),
    ((ICD, "G30.1"), {C.DEMENTIA_DELIRIUM}),
    ((ICD, "F05"), {C.DEMENTIA_DELIRIUM}),
    ((ICD, "Z91.81"), {C.FALLS_FRACTURE}),
    ((ICD, "W19.XXXA"), {C.FALLS_FRACTURE}),
    ((ICD, "S72.001A"), {C.FALLS_FRACTURE}),
    ((ICD, "C50.911"), {C.CANCER}),
    ((ICD, "C25.0"), {C.CANCER, C.END_OF_LIFE}),
    ((ICD, "Z51.11"), {C.CANCER}),
    ((ICD, "Z51.5"), {C.END_OF_LIFE}),
    ((ICD, "D57.1"), {C.SICKLE_CELL}),
    ((ICD, "D57.00"), {C.SICKLE_CELL}),
    ((ICD, "D57.3"), set()),  # trait
    ((ICD, "I10"), set()),
    ((None, "G47.33"), {C.SLEEP_DISORDERED_BREATHING}),  # system inferred from shape
    ((None, "78275009"), {C.SLEEP_DISORDERED_BREATHING}),
    (("http://loinc.org", "84757009"), set()),
]


@pytest.mark.parametrize(("coding", "expected"), CODE_CASES)
def test_codes(coding: tuple[str | None, str], expected: set[C]) -> None:
    system, code = coding
    assert classify_condition([(system, code, None)], None) == frozenset(expected)


def test_codes_and_keywords_union() -> None:
    got = classify_condition(
        [(ICD, "F41.1", "Generalized anxiety disorder"), (SCT, "193462001", None)],
        "with chronic insomnia",
    )
    assert got == {C.ANXIETY, C.SEVERE_GAD, C.INSOMNIA}


PLAN_CASES = [
    ([(PLAN, "cbti-referral", None)], None, PlanKind.CBTI_REFERRAL),
    ([], "Referral to CBT-I", PlanKind.CBTI_REFERRAL),
    ([], "Cognitive behavioural therapy for insomnia", PlanKind.CBTI_REFERRAL),
    ([(SCT, "304891004", "Cognitive behavioral therapy")], None, None),
    (
        [(SCT, "304891004", "Cognitive behavioral therapy")],
        "for chronic insomnia",
        PlanKind.CBTI_REFERRAL,
    ),
    ([(PLAN, "taper-plan", None)], None, PlanKind.TAPER_PLAN),
    ([], "Benzodiazepine taper: reduce 10% every 2 weeks", PlanKind.TAPER_PLAN),
    ([], "Deprescribing plan for lorazepam", PlanKind.TAPER_PLAN),
    ([(SCT, "182836005", "Review of medication")], None, PlanKind.MEDICATION_REVIEW),
    ([], "Medication review in 3 months", PlanKind.MEDICATION_REVIEW),
    ([], "Taper and medication review", PlanKind.TAPER_PLAN),
    ([], "CBT-I referral during taper", PlanKind.CBTI_REFERRAL),
    ([(SCT, "385691007", "Fracture care")], None, None),
    ([(SCT, "718347000", "Mental health care plan (record artifact)")], None, None),
    ([], None, None),
]


@pytest.mark.parametrize(("codings", "text", "expected"), PLAN_CASES)
def test_classify_plan(
    codings: list[tuple[str | None, str | None, str | None]],
    text: str | None,
    expected: PlanKind | None,
) -> None:
    assert classify_plan(codings, text) == expected
