"""hypothesis strategies: CDS Hooks bodies as EHRs send them, clean and messy.

Clean parts follow R4; messy ones are what real feeds carry: lone objects where lists belong,
numbers for strings, blank and padded strings, partial or impossible dates, DSTU2 and R5
shapes, unknown resource types, other patients' resources, entries without resources, next
links, wrong envelope fields. Every field the readers use appears, so a field one reader reads
and the other does not shows up as a difference.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.api.ehr_shapes import DRUGS

PID = "pt-1"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"

# (code, display) of drugs in and out of the classes the rules read, plus EHR text variants.
_DRUGS = [(code, display) for code, display, *_ in DRUGS.values()] + [
    ("1049621", "oxyCODONE 5 MG Oral Tablet"),
    ("197591", "diazePAM 5 MG Oral Tablet"),
    ("310431", "gabapentin 300 MG Oral Capsule"),
    ("1010600", "buprenorphine 8 MG / naloxone 2 MG Sublingual Film"),
    ("1115573", "naloxone 4 MG/ACTUAT Nasal Spray"),
    ("", "temazepam 15 mg capsule"),
    ("999999", "amoxicillin 500 MG Oral Capsule"),
    ("1", "Captopril 25 MG Oral Tablet"),
]
_SIGS = [
    "Take 1 tablet by mouth 2 (two) times daily.",
    "1 tab po qhs prn sleep",
    "Take 0.5-1 tablet by mouth every 8 hours as needed for anxiety",
    "Take 1 tablet twice daily for 2 weeks, then 1 tablet daily for 2 weeks, then stop",
    "taper: decrease by 0.25 mg every 2 weeks",
    "",
    "  ",
    "Take 2 tablets (1 mg) at bedtime",
    "1 tab po qhs x 30 days",
    "Take 1 tablet at bedtime for 14 days, then stop",
    "0.5 mg twice daily for 2 weeks, then 0.5 mg at bedtime for 2 weeks, then stop",
]
_CONDITIONS = [
    ("193462001", "F51.01", "Primary insomnia"),
    ("197480006", "F41.1", "Anxiety"),
    ("84757009", "G40.909", "Epilepsy"),
    ("363406005", "C18.9", "Colon cancer"),
    ("38341003", "I10", "Hypertension"),
    ("", "F11.20", "Opioid use disorder"),
]
_PLAN_TEXTS = [
    "Benzodiazepine taper plan",
    "Medication review",
    "CBT-I referral",
    "Cognitive behavioral therapy for insomnia",
    "Diabetes care plan",
    "",
    "Opioid taper plan",
    "Taper lorazepam",
    "Hospice care",
    "Palliative care",
    "Deprescribing plan: zolpidem",
]
# Phases of a sequenced order (main's dose reader: a written taper steps the dose down).
_PHASES = [
    (
        {"text": "1 mg twice daily for 2 weeks", "sequence": 1},
        {"text": "0.5 mg twice daily for 2 weeks", "sequence": 2},
        {"text": "then stop", "sequence": 3},
    ),
    (
        {"text": "0.5 mg at bedtime for 7 days", "sequence": 1},
        {"text": "1 mg at bedtime", "sequence": 2},
    ),
]

odd_text = st.sampled_from(["", " ", "\u00a0x\u2003", "\t", "a\u0000b", "é", "𝔘", "\u2028"])
short_text = st.one_of(odd_text, st.text(max_size=12))
statuses = st.sampled_from(
    [
        "active",
        "ACTIVE ",
        "completed",
        "stopped",
        "on-hold",
        "draft",
        "entered-in-error",
        " entered-in-error",
        "cancelled",
        "revoked",
        "unknown",
        "",
    ]
)
dates = st.one_of(
    st.sampled_from(
        [
            "2026-11-01",
            "2026-06-15T08:30:00Z",
            "2025-02",
            "2024",
            "2026-02-30",
            "garbage",
            "",
            "2027-01-01",
            "9999-12-31",
            "2026-11-23T23:59:59+14:00",
            " 2026-10-01",
        ]
    ),
    st.dates().map(lambda d: d.isoformat()),
)


_MESS = [True]


def messy(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The clean value mostly; sometimes null, a number, a string or a lone/list wrapper
    (only the clean value while a clean body's strategy is built)."""
    if not _MESS[0]:
        return value
    return st.one_of(
        value,
        value,
        value,
        st.none(),
        st.integers(-2, 10**6),
        short_text,
        value.map(lambda v: [v]),
        st.just({}),
    )


def coding(pair: tuple[str, str], system: str) -> dict[str, Any]:
    code, display = pair
    return {k: v for k, v in (("system", system), ("code", code), ("display", display)) if v}


def concept(pool: list[tuple[str, str]], system: str) -> st.SearchStrategy[Any]:
    one = st.sampled_from(pool)
    clean = st.builds(
        lambda pair, text, with_text, n: (
            {"coding": [coding(pair, system)] * n}
            | ({"text": text or pair[1]} if with_text else {})
        ),
        one,
        short_text,
        st.booleans(),
        st.integers(0, 2),
    )
    coding_as_concept = one.map(lambda pair: coding(pair, system))  # a Coding sent bare
    text_only = st.builds(lambda pair: {"text": pair[1]}, one)
    return st.one_of(clean, clean, coding_as_concept, text_only, messy(clean))


def reference(kind: str, ids: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(ids).map(lambda i: {"reference": f"{kind}/{i}"}),
        st.just({"reference": f"urn:uuid:{ids[0]}"}),
        st.just({"display": "x"}),
        messy(st.just({"reference": f"{kind}/{ids[-1]}"})),
    )


def dosage() -> st.SearchStrategy[Any]:
    repeat = st.fixed_dictionaries(
        {},
        optional={
            "frequency": st.one_of(st.integers(1, 4), st.just("2")),
            "period": st.integers(1, 24),
            "periodUnit": st.sampled_from(["d", "h", "wk"]),
            "boundsDuration": messy(st.just({"value": 14, "unit": "days", "code": "d"})),
            "boundsPeriod": messy(st.builds(lambda a, b: {"start": a, "end": b}, dates, dates)),
        },
    )
    clean = st.fixed_dictionaries(
        {},
        optional={
            "text": st.sampled_from(_SIGS),
            "sequence": st.integers(1, 3),
            "patientInstruction": st.sampled_from(_SIGS),
            "timing": messy(st.fixed_dictionaries({"repeat": repeat})),
            "asNeededBoolean": st.booleans(),
            "doseAndRate": messy(st.just([{"doseQuantity": {"value": 1, "unit": "tablet"}}])),
        },
    )
    return st.one_of(st.lists(clean, max_size=3), messy(clean), st.sampled_from(_PHASES).map(list))


def med_request(
    ids: st.SearchStrategy[str], kind: str = "MedicationRequest", *, mess: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    drug = concept(_DRUGS, RXNORM)
    medication_ref = _pick(
        mess,
        ["#med1", "Medication/m1", "http://x/fhir/R/1", ""],
        ["Medication/missing", "http://x/fhir/Medication/m1"],
    ).map(lambda r: {"reference": r, "display": "LORazepam 1 MG Oral Tablet"})
    return st.fixed_dictionaries(
        {"resourceType": st.just(kind)},
        optional={
            "id": messy(ids),
            "status": messy(statuses),
            "intent": st.just("order"),
            "doNotPerform": _pick(mess, [True, False], ["true"]),
            "authoredOn": messy(dates),
            "dateWritten": dates,
            "dateEnded": messy(dates),
            "subject": reference("Patient", [PID, PID, "someone-else"]),
            "patient": reference("Patient", [PID]),
            "medicationCodeableConcept": drug,
            "medicationReference": messy(medication_ref),
            **(
                {
                    "medication": st.just({"concept": {"text": "alprazolam 1 mg"}}),
                    "reasonCodeableConcept": concept([(s, d) for s, _, d in _CONDITIONS], SNOMED),
                    "reason": st.just([{"concept": {"text": "insomnia"}}]),
                }
                if mess
                else {}
            ),
            "contained": messy(
                st.just(
                    [
                        {
                            "resourceType": "Medication",
                            "id": "med1",
                            "code": {"text": "clonazepam 1 mg tablet"},
                        }
                    ]
                )
            ),
            "dosageInstruction": dosage(),
            "dispenseRequest": messy(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "validityPeriod": messy(
                            st.builds(lambda a, b: {"start": a, "end": b}, dates, dates)
                        ),
                        "expectedSupplyDuration": messy(st.just({"value": 30, "unit": "days"})),
                        "numberOfRepeatsAllowed": st.one_of(st.integers(-1, 5), st.just("2")),
                    },
                )
            ),
            "reasonCode": messy(
                st.lists(concept([(s, d) for s, _, d in _CONDITIONS], SNOMED), max_size=2)
            ),
            "reasonReference": messy(
                st.lists(
                    st.one_of(
                        reference("Condition", ["c1", "c2"]),
                        st.just(
                            {"reference": "Condition/c1", "display": "Switch to diazepam for taper"}
                        ),
                        st.just({"display": "Panic disorder"}),
                    ),
                    max_size=2,
                )
            ),
            "note": st.one_of(
                st.just([{"text": "taper by 10% monthly"}]),
                messy(st.just([{"text": "for sleep"}])),
                *([st.just("wean slowly")] if mess else []),
            ),
            "category": messy(
                st.lists(
                    concept([("inpatient", "Inpatient"), ("community", "Community")], "x"),
                    max_size=2,
                )
            ),
            "meta": st.just({"versionId": "1"}),
        },
    )


def condition(ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    code = st.one_of(
        concept([(s, d) for s, _, d in _CONDITIONS], SNOMED),
        concept([(i, d) for _, i, d in _CONDITIONS], ICD10),
    )
    status = st.one_of(
        st.sampled_from(
            ["active", "resolved", " Remission ", "confirmed", "refuted", "entered-in-error"]
        ),
        st.sampled_from(["active", "inactive", "refuted"]).map(lambda c: {"coding": [{"code": c}]}),
        messy(st.just({"text": "x"})),
    )
    return st.fixed_dictionaries(
        {"resourceType": st.just("Condition")},
        optional={
            "id": messy(ids),
            "code": messy(code),
            "clinicalStatus": status,
            "verificationStatus": status,
            "subject": reference("Patient", [PID, "other"]),
            "abatementBoolean": messy(st.booleans()),
            "abatementDateTime": messy(dates),
            "abatementPeriod": messy(st.builds(lambda d: {"end": d}, dates)),
            "onsetDateTime": messy(dates),
            "onsetPeriod": messy(st.builds(lambda d: {"start": d}, dates)),
            "recordedDate": messy(dates),
            "assertedDate": dates,
            "dateRecorded": dates,
        },
    )


def plan(kind: str, ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    code = concept([("", t) for t in _PLAN_TEXTS] + [("385724002", "Medication review")], SNOMED)
    fields: dict[str, Any] = {
        "id": messy(ids),
        "status": messy(statuses),
        "subject": reference("Patient", [PID]),
    }
    if kind == "CarePlan":
        fields |= {
            "category": messy(st.lists(code, max_size=2)),
            "title": messy(st.sampled_from(_PLAN_TEXTS)),
            "description": st.sampled_from(_PLAN_TEXTS),
            "activity": messy(
                st.lists(
                    messy(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "detail": messy(
                                    st.fixed_dictionaries(
                                        {},
                                        optional={
                                            "code": code,
                                            "description": st.sampled_from(_PLAN_TEXTS),
                                            "productCodeableConcept": messy(
                                                concept(_DRUGS, RXNORM)
                                            ),
                                            "productReference": messy(
                                                st.just(
                                                    {
                                                        "reference": "Medication/m1",
                                                        "display": "alprazolam",
                                                    }
                                                )
                                            ),
                                        },
                                    )
                                )
                            },
                        )
                    ),
                    max_size=2,
                )
            ),
            "period": messy(st.builds(lambda d: {"start": d}, dates)),
            "created": messy(dates),
            "note": messy(
                st.lists(
                    st.sampled_from([{"text": "for her clonazepam"}, {"text": "opioid"}, {}]),
                    max_size=2,
                )
            ),
            "addresses": messy(st.lists(reference("Condition", ["c1", "c2"]), max_size=2)),
        }
    else:
        fields |= {
            "code": messy(code),
            "authoredOn": messy(dates),
            "reasonCode": messy(
                st.lists(concept([(s, d) for s, _, d in _CONDITIONS], SNOMED), max_size=2)
            ),
            "reasonReference": messy(st.lists(reference("Condition", ["c1", "c2"]), max_size=2)),
            "occurrenceDateTime": messy(dates),
            "occurrencePeriod": messy(st.builds(lambda d: {"start": d}, dates)),
        }
    return st.fixed_dictionaries({"resourceType": st.just(kind)}, optional=fields)


def patient(mess: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("Patient")},
        optional={
            "id": _pick(mess, [PID, PID, PID, "other"], [7]),
            "birthDate": messy(dates),
            "gender": st.just("female"),
        },
    )


def other_resource(mess: bool = True) -> st.SearchStrategy[Any]:
    clean = [
        {
            "resourceType": "Medication",
            "id": "m1",
            "code": {"coding": [{"system": RXNORM, "code": "197901"}]},
        },
        {"resourceType": "OperationOutcome", "issue": []},
    ]
    odd = [
        {"resourceType": "Medication", "id": "m2", "code": "clonazepam"},
        {"resourceType": "Observation", "id": "o1"},
        {"id": "no-type"},
        "not an object",
    ]
    return _pick(mess, clean, odd)


def bundle(resources: st.SearchStrategy[Any], mess: bool = True) -> st.SearchStrategy[Any]:
    entry = st.one_of(
        resources.map(lambda r: {"resource": r, "fullUrl": "http://x/fhir/R/1"}),
        resources.map(lambda r: {"resource": r}),
        st.just({"search": {}}),
    )
    clean = st.builds(
        lambda e: {"resourceType": "Bundle", "type": "searchset", "entry": e},
        st.lists(entry, max_size=6),
    )
    with_next = clean.map(lambda b: b | {"link": [{"relation": "next", "url": "http://x/p2"}]})
    with_self = clean.map(lambda b: b | {"link": [{"relation": "self", "url": "http://x/p1"}]})
    if not mess:
        return st.one_of(clean, clean, with_self, st.none())
    return st.one_of(
        clean,
        clean,
        clean,
        with_self,
        with_next,
        st.none(),
        st.just({"resourceType": "OperationOutcome"}),
        clean.map(lambda b: b | {"entry": {}}),
    )


def hook_body() -> st.SearchStrategy[dict[str, Any]]:
    """Clean bodies (all R4, which the typed reader takes) and messy ones, about half each."""
    return st.one_of(_hook_body(mess=False), _hook_body(mess=True))


def _pick(mess: bool, clean: list[Any], odd: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(clean + odd if mess else clean)


def _hook_body(*, mess: bool) -> st.SearchStrategy[dict[str, Any]]:
    _MESS[0] = mess
    try:
        return _build(mess)
    finally:
        _MESS[0] = True


def _build(mess: bool) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from(["m1", "m2", "m3", "c1", "c2", "draft-1", " m1 ", ""])
    orders = st.one_of(
        med_request(ids, mess=mess),
        med_request(ids, mess=mess),
        *([med_request(ids, "MedicationOrder", mess=True)] if mess else []),
    )
    chart = st.one_of(
        orders,
        condition(ids),
        plan("CarePlan", ids),
        plan("ServiceRequest", ids),
        patient(mess),
        other_resource(mess),
    )
    keys = {
        "patient": st.one_of(patient(mess), patient(mess), bundle(patient(mess), mess), st.none()),
        "medications": bundle(st.one_of(orders, orders, chart), mess),
        "conditions": bundle(st.one_of(condition(ids), chart), mess),
        "carePlans": bundle(plan("CarePlan", ids), mess),
        "serviceRequests": bundle(plan("ServiceRequest", ids), mess),
    }
    # A clean body carries every key (an absent one would be fetched); a messy one any subset.
    prefetch = (
        st.fixed_dictionaries({}, optional=keys | {"extra": st.just({"resourceType": "Bundle"})})
        if mess
        else st.fixed_dictionaries(keys)
    )
    drafts = st.lists(
        st.one_of(
            med_request(st.just("draft-1"), mess=mess),
            plan("CarePlan", ids),
            plan("ServiceRequest", ids),
            other_resource(mess),
            st.just({"resourceType": "NutritionOrder", "id": "n1"}),
        ),
        max_size=3,
    )
    hook = st.sampled_from(["patient-view", "order-select", "order-sign"])
    return st.builds(
        _body,
        hook,
        prefetch,
        drafts,
        _pick(mess, [["MedicationRequest/draft-1"], None], [["bad ref"], [], "x"]),
        _pick(mess, [None, "http://fhir.example/r4"], ["not a url"]),
        _pick(mess, ["Practitioner/1"], ["", None]),
        _pick(mess, [PID], ["", 5]),
    )


def _body(
    hook: str,
    prefetch: dict[str, Any],
    drafts: list[Any],
    selections: Any,
    server: str | None,
    user: Any,
    patient_id: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {"patientId": patient_id}
    if user is not None:
        context["userId"] = user
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "entry": [{"resource": d} for d in drafts],
        }
        if selections is not None:
            context["selections"] = selections
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": prefetch,
    }
    if server is not None:
        body["fhirServer"] = server
    return body
