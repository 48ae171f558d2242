"""Every field a rule reads (dosage, timing, dispenseRequest, dates), fuzzed with extreme values
through HTTP: never a 5xx, and a resource that cannot be read is skipped and counted."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import load_fixture
from tests.trust.fuzz_support import FUZZ, Service, control_text, fuzz_service

OVERLAP = load_fixture("hooks/patient-view-overlap.json")

# --- extreme values ----------------------------------------------------------------------

EXTREME_NUMBERS = [
    0,
    -0.0,
    -1,
    1e308,
    -1e308,
    1.7976931348623157e308,
    1e-308,
    5e-324,
    -5e-324,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    10**30,
    0.1,
    1e-7,
]
numbers = (
    st.sampled_from(EXTREME_NUMBERS)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**64 - 1)
)
# Wrong JSON types where a number belongs: the resource must be skipped, not the call failed.
wrong_types = st.sampled_from(
    ["1e308", "NaN", "Infinity", "", "1/0", True, None, [], {}, [1e308], {"value": 1e308}]
)
strings = (
    st.sampled_from(
        [
            "",
            " ",
            "1/0 tablet",
            "take 1/0 tablet",
            "0/0 mg every 0 hours",
            "1e308 mg 1e308 times a day",
            "9" * 400 + " mg daily",
            "0.0000000001 mg every 0.0000001 hours",
            "½ tablet q0h",
            "x" * 5000,
            "\u0000",
            "\u202e",
            "1 mg twice daily",
        ]
    )
    | control_text
    | st.text(max_size=40)
)
dates = (
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "0001-01-01T00:00:00+23:59",
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59.999999999+14:00",
            "0001-01-01T00:00:00-14:00",
            "0000",
            "10000-01-01",
            "-0001-01-01",
            "2026-02-29",
            "9999",
            "0001",
            "9999-12",
            "2026-11-23T24:00:00Z",
            "",
        ]
    )
    | strings
)
values_by_kind: dict[str, st.SearchStrategy[Any]] = {
    "number": numbers | wrong_types,
    "string": strings | wrong_types,
    "date": dates | wrong_types,
}

# Fields the rules read (app/normalize, app/cards), by resource type: (path, kind).
D = ("dosageInstruction", 0)
R = (*D, "timing", "repeat")
Q = (*D, "doseAndRate", 0)
FIELDS: dict[str, list[tuple[tuple[Any, ...], str]]] = {
    "MedicationRequest": [
        ((*Q, "doseQuantity", "value"), "number"),
        ((*Q, "doseQuantity", "unit"), "string"),
        ((*Q, "doseQuantity", "code"), "string"),
        ((*Q, "doseRange", "low", "value"), "number"),
        ((*Q, "doseRange", "high", "value"), "number"),
        ((*R, "frequency"), "number"),
        ((*R, "frequencyMax"), "number"),
        ((*R, "period"), "number"),
        ((*R, "periodMax"), "number"),
        ((*R, "periodUnit"), "string"),
        ((*R, "count"), "number"),
        ((*R, "boundsDuration", "value"), "number"),
        ((*R, "boundsDuration", "unit"), "string"),
        ((*R, "boundsPeriod", "start"), "date"),
        ((*R, "boundsPeriod", "end"), "date"),
        ((*R, "when", 0), "string"),
        ((*R, "timeOfDay", 0), "string"),
        ((*D, "timing", "code", "text"), "string"),
        ((*D, "text"), "string"),
        ((*D, "patientInstruction"), "string"),
        ((*D, "sequence"), "number"),
        ((*D, "maxDosePerPeriod", "numerator", "value"), "number"),
        ((*D, "maxDosePerPeriod", "denominator", "value"), "number"),
        ((*D, "maxDosePerPeriod", "denominator", "unit"), "string"),
        (("dispenseRequest", "expectedSupplyDuration", "value"), "number"),
        (("dispenseRequest", "expectedSupplyDuration", "unit"), "string"),
        (("dispenseRequest", "quantity", "value"), "number"),
        (("dispenseRequest", "numberOfRepeatsAllowed"), "number"),
        (("dispenseRequest", "initialFill", "quantity", "value"), "number"),
        (("dispenseRequest", "validityPeriod", "start"), "date"),
        (("dispenseRequest", "validityPeriod", "end"), "date"),
        (("authoredOn",), "date"),
        (("status",), "string"),
        (("intent",), "string"),
        (("medicationCodeableConcept", "text"), "string"),
        (("medicationCodeableConcept", "coding", 0, "code"), "string"),
        (("note", 0, "text"), "string"),
    ],
    "Condition": [
        (("onsetDateTime",), "date"),
        (("abatementDateTime",), "date"),
        (("recordedDate",), "date"),
        (("code", "text"), "string"),
        (("code", "coding", 0, "code"), "string"),
        (("clinicalStatus", "coding", 0, "code"), "string"),
    ],
    "Patient": [(("birthDate",), "date"), (("deceasedDateTime",), "date")],
}


def _put(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set resource[path] = value, making (or replacing) the containers on the way."""
    target: Any = resource
    for step, following in zip(path, path[1:], strict=False):
        fresh: Any = [{}] if isinstance(following, int) else {}
        if isinstance(step, int):
            if not target:
                target.append(fresh)
            if not isinstance(target[step], list | dict) or isinstance(
                target[step], list
            ) != isinstance(following, int):
                target[step] = fresh
        elif not isinstance(target.get(step), list | dict) or isinstance(
            target[step], list
        ) != isinstance(following, int):
            target[step] = fresh
        target = target[step]
    if isinstance(path[-1], int):
        target[:] = [value]
    else:
        target[path[-1]] = value


def _resources(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = []
    for value in body["prefetch"].values():
        if isinstance(value, dict) and value.get("resourceType") == kind:
            found.append(value)
        for entry in (value or {}).get("entry", []) if isinstance(value, dict) else []:
            if entry.get("resource", {}).get("resourceType") == kind:
                found.append(entry["resource"])
    return found


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with fuzz_service(tmp_path_factory.mktemp("fields")) as running:
        yield running


# --- every field a rule reads ------------------------------------------------------------


@st.composite
def extreme_fields(draw: st.DrawFn) -> dict[str, Any]:
    body = copy.deepcopy(OVERLAP)
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(sorted(FIELDS)))
        targets = _resources(body, kind)
        path, value_kind = draw(st.sampled_from(FIELDS[kind]))
        target = draw(st.sampled_from(targets))
        _put(target, path, draw(values_by_kind[value_kind]))
        if kind == "MedicationRequest" and draw(st.booleans()):
            # Without a structured dose and timing, the dosage text is read too.
            for field in ("doseAndRate", "timing"):
                target["dosageInstruction"][0].pop(field, None)
    return body


@FUZZ
@given(body=extreme_fields())
def test_extreme_values_in_fields_rules_read(service: Service, body: dict[str, Any]) -> None:
    response = service.post(body)
    # The envelope is valid: only the Patient lost from the record may refuse the call.
    assert response.status_code in (200, 412), response.text[:2000]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((*Q, "doseQuantity", "value"), "1e308"),
        ((*R, "frequency"), {"value": 2}),
        ((*R, "period"), [1]),
        ((*D, "maxDosePerPeriod", "numerator", "value"), True),
    ],
)
def test_unreadable_dose_field_is_counted_and_the_order_kept(
    service: Service, path: tuple[Any, ...], value: Any
) -> None:
    # A bad dose field leaves the dose unknown (issue #10); the benzodiazepine still counts.
    body = copy.deepcopy(OVERLAP)
    orders = _resources(body, "MedicationRequest")
    alprazolam = next(o for o in orders if "alprazolam" in o["medicationCodeableConcept"]["text"])
    _put(alprazolam, path, value)
    response = service.post(body)
    assert response.status_code == 200
    assert service.skipped().get("MedicationRequest: dose unreadable") == 1
    rules = {c["source"]["topic"]["code"] for c in response.json()["cards"]}
    assert "opioid-benzodiazepine-overlap" in rules


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("dispenseRequest", "expectedSupplyDuration", "value"), "30"),
    ],
)
def test_unreadable_order_is_skipped_and_counted(
    service: Service, path: tuple[Any, ...], value: Any
) -> None:
    body = copy.deepcopy(OVERLAP)
    orders = _resources(body, "MedicationRequest")
    alprazolam = next(o for o in orders if "alprazolam" in o["medicationCodeableConcept"]["text"])
    _put(alprazolam, path, value)
    response = service.post(body)
    assert response.status_code == 200
    assert service.skipped().get("MedicationRequest: unreadable") == 1
    rules = {c["source"]["topic"]["code"] for c in response.json()["cards"]}
    assert "opioid-benzodiazepine-overlap" not in rules  # the benzodiazepine left with it
    # ... while the opioid orders were still read: the same call without the bad field names
    # oxycodone in its overlap card.
    assert "oxycodone" in service.post(copy.deepcopy(OVERLAP)).text


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("take 1/0 tablet", "opioid-benzodiazepine-overlap"),
        ("0/0 mg every 0 hours", "opioid-benzodiazepine-overlap"),
        ("1/0-2/0 mg 1/0 times a day", "opioid-benzodiazepine-overlap"),
    ],
)
def test_zero_divisor_in_dosage_text_leaves_the_dose_unknown(
    service: Service, text: str, rule: str
) -> None:
    body = copy.deepcopy(OVERLAP)
    for order in _resources(body, "MedicationRequest"):
        dosage = order["dosageInstruction"][0]
        dosage["text"] = text
        for field in ("doseAndRate", "timing", "patientInstruction"):
            dosage.pop(field, None)
    response = service.post(body)
    assert response.status_code == 200
    assert rule in {c["source"]["topic"]["code"] for c in response.json()["cards"]}
    assert "inf" not in response.text.replace("info", "").replace("Inform", "")


@pytest.mark.parametrize(
    "change",
    [
        {
            "doseAndRate": [{"doseQuantity": {"value": 1e308, "unit": "tablet"}}],
            "timing": {"repeat": {"frequency": 1e308, "period": 1e-308, "periodUnit": "d"}},
        },
        {
            "doseAndRate": [],
            "asNeededBoolean": True,
            "text": None,
            "maxDosePerPeriod": {
                "numerator": {"value": 1e308, "unit": "mg"},
                "denominator": {"value": 1e-308, "unit": "d"},
            },
        },
        {"doseAndRate": [{"doseQuantity": {"value": 5e-324, "unit": "mg"}}]},
    ],
    ids=["1e308-tablets-per-1e-308-days", "max-dose-1e308-per-1e-308-days", "5e-324-mg"],
)
@pytest.mark.parametrize("concurrent", [False, True])
def test_enormous_and_tiny_doses_in_the_taper(
    service: Service, change: dict[str, Any], concurrent: bool
) -> None:
    body = copy.deepcopy(OVERLAP)
    orders = _resources(body, "MedicationRequest")
    alprazolam = next(o for o in orders if "alprazolam" in o["medicationCodeableConcept"]["text"])
    dosage = alprazolam["dosageInstruction"][0]
    dosage.update({k: v for k, v in change.items() if v is not None})
    for key in [k for k, v in change.items() if v is None]:
        dosage.pop(key, None)
    if concurrent:  # two dosages of one sequence: their sum overflows even when each does not
        alprazolam["dosageInstruction"] = [dosage, copy.deepcopy(dosage)]
    response = service.post(body)
    assert response.status_code == 200
    cards = {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}
    assert "taper-plan" in cards
    assert " inf " not in cards["taper-plan"]["detail"]
    assert "nan" not in cards["taper-plan"]["detail"].split()
