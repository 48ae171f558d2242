"""Small builders for gather tests: hook bodies, Bundles and chart resources."""

from __future__ import annotations

from typing import Any

import httpx

from app.config import Settings
from app.fhir.gather import gather
from app.fhir.gathered import Gathered
from app.hooks.definitions import SERVICES, ServiceDefinition
from app.models.hooks import BaseContext, HookRequest, parse_hook_request

SERVER = "https://ehr.example/fhir"
TOKEN = "tok-SECRET-7781"
PID = "pt-4k9q"
_SERVICE_BY_HOOK = {s.hook: s for s in SERVICES.values()}


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)


def service(hook: str = "patient-view") -> ServiceDefinition:
    return _SERVICE_BY_HOOK[hook]


def patient(pid: str = PID) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": "1950-02-03"}


def med_request(
    rid: str, *, pid: str = PID, med_ref: str | None = None, kind: str = "MedicationRequest"
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": kind,
        "id": rid,
        "status": "active",
        "intent": "order",
    }
    resource["patient" if kind == "MedicationOrder" else "subject"] = {
        "reference": f"Patient/{pid}"
    }
    if med_ref is None:
        resource["medicationCodeableConcept"] = {"text": "lorazepam 1 mg tablet"}
    else:
        resource["medicationReference"] = {"reference": med_ref, "display": "LORAZEPAM 1 MG"}
    return resource


def chart(kind: str, rid: str, pid: str = PID) -> dict[str, Any]:
    return {"resourceType": kind, "id": rid, "subject": {"reference": f"Patient/{pid}"}}


def medication(mid: str) -> dict[str, Any]:
    return {
        "resourceType": "Medication",
        "id": mid,
        "code": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197901"}]
        },
    }


def bundle(
    *resources: dict[str, Any], next_url: str | None = None, full_urls: bool = False
) -> dict[str, Any]:
    result: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    for resource in resources:
        entry: dict[str, Any] = {"resource": resource}
        if full_urls:
            entry["fullUrl"] = f"{SERVER}/{resource['resourceType']}/{resource['id']}"
        result["entry"].append(entry)
    if next_url:
        result["link"] = [{"relation": "next", "url": next_url}]
    return result


def full_prefetch(**overrides: Any) -> dict[str, Any]:
    """Every key of the services' prefetch, satisfied; overrides replace or (None) null a key."""
    data: dict[str, Any] = {
        "patient": patient(),
        "medications": bundle(med_request("mr-1")),
        "conditions": bundle(chart("Condition", "c-1")),
        "carePlans": bundle(),
        "serviceRequests": bundle(),
    }
    data.update(overrides)
    return data


def hook_request(
    hook: str = "patient-view",
    *,
    prefetch: dict[str, Any] | None = None,
    server: str | None = SERVER,
    token: str | None = TOKEN,
    drafts: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    user: str = "Practitioner/dr-1",
) -> tuple[HookRequest, BaseContext]:
    context: dict[str, Any] = {"userId": user, "patientId": PID}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "entry": [{"resource": r} for r in drafts or []],
        }
    if hook == "order-select":
        context["selections"] = selections or ["MedicationRequest/draft-1"]
    body: dict[str, Any] = {"hook": hook, "hookInstance": "hi-1", "context": context}
    if server is not None:
        body["fhirServer"] = server
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "benzo-cds",
        }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return parse_hook_request(body, hook)


def search_url(kind: str) -> str:
    return f"{SERVER}/{kind}?patient={PID}"


async def run_gather(
    hook: str,
    client: httpx.AsyncClient,
    *,
    allowed: list[str] | None = None,
    config: Settings | None = None,
    **request_args: Any,
) -> Gathered:
    request, context = hook_request(hook, **request_args)
    return await gather(request, context, service(hook), client, config or settings(), allowed)
