"""`benzo-cds review`: gather a patient from a FHIR server as the hook fallback does; show cards."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.errors import CdsError
from app.fhir.client import make_fhir_client
from app.hooks.definitions import SERVICES
from app.models.cards import Card
from app.service import evaluate_call

_COLOURS = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;34m"}
_RESET = "\033[0m"


def _drafts(paths: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for raw in paths:
        data = json.loads(Path(raw).read_text(encoding="utf-8"))
        if data.get("resourceType") == "Bundle":
            found += [e["resource"] for e in data.get("entry", []) if "resource" in e]
        else:
            found.append(data)
    for index, resource in enumerate(found):
        resource.setdefault("id", f"draft-{index + 1}")
    return found


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The hook request the EHR would send, with no prefetch so everything is fetched."""
    context: dict[str, Any] = {"userId": "Practitioner/benzo-cds-cli", "patientId": args.patient}
    if args.hook != "patient-view":
        drafts = _drafts(args.draft_order)
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in drafts]}
        if args.hook == "order-select":
            if not drafts:
                raise ValueError("order-select needs at least one --draft-order")
            context["selections"] = [f"{r.get('resourceType')}/{r['id']}" for r in drafts]
    request: dict[str, Any] = {"hook": args.hook, "hookInstance": str(uuid.uuid4()),
                               "fhirServer": args.fhir_server.rstrip("/"), "context": context}
    if args.token:
        request["fhirAuthorization"] = {
            "access_token": args.token, "token_type": "Bearer", "expires_in": 300,
            "scope": "user/Patient.read user/MedicationRequest.read user/Condition.read",
            "subject": "benzo-cds-cli"}
    return request


def render_card(card: Card, colour: bool) -> str:
    start, end = (_COLOURS[card.indicator], _RESET) if colour else ("", "")
    lines = [f"{start}[{card.indicator.upper()}]{end} {card.summary}"]
    if card.detail:
        for paragraph in card.detail.splitlines():
            lines.append(textwrap.fill(paragraph, 96, initial_indent="    ",
                                       subsequent_indent="    ") if paragraph else "")
    for suggestion in card.suggestions or ():
        lines.append(f"    -> suggestion: {suggestion.label}")
    for link in card.links or ():
        lines.append(f"    -> {link.label}: {link.url}")
    lines.append(f"    source: {card.source.label}"
                 + (f" <{card.source.url}>" if card.source.url else ""))
    return "\n".join(lines)


async def run_review(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.date:
        settings = settings.model_copy(update={"evaluation_date": date.fromisoformat(args.date)})
    service = next(s for s in SERVICES.values() if s.hook == args.hook)
    try:
        request = build_request(args)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: could not read the draft order: {error}", file=sys.stderr)
        return 2
    http = make_fhir_client(settings)
    try:
        evaluation = await evaluate_call(request, service, http=http, settings=settings,
                                         allowed_fhir_servers=[request["fhirServer"]])
    except CdsError as error:
        print(f"error: {error.message}", file=sys.stderr)
        for detail in error.details:
            print(f"  {detail}", file=sys.stderr)
        return 1
    finally:
        await http.aclose()
    if args.json:
        print(json.dumps({"cards": [c.model_dump(mode="json", exclude_none=True)
                                    for c in evaluation.cards]}, indent=2))
        return 0
    record = evaluation.record
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print(f"Patient age {record.age if record.age is not None else 'unknown'}, "
          f"{len(record.medications)} medication orders, {len(record.conditions)} conditions, "
          f"evaluated {record.evaluated_on.isoformat()} ({args.hook})")
    if record.skipped:
        print("Skipped: " + ", ".join(f"{k} x{v}" for k, v in sorted(record.skipped.items())))
    if not evaluation.cards:
        print("No cards: nothing to flag.")
    for card in evaluation.cards:
        print()
        print(render_card(card, colour))
    return 0
