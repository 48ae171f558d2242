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

from pydantic import ValidationError

from app.config import Settings, get_settings
from app.errors import CdsError
from app.fhir.client import make_fhir_client
from app.fhir.urls import UrlError, normalize_url
from app.hooks.definitions import SERVICES
from app.hooks.evaluate import evaluate_call
from app.models.cards import Card, CdsResponse

_COLOURS = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;34m"}
_RESET = "\033[0m"


class UsageError(ValueError):
    """A bad argument (draft order file, date); the message is shown as is."""


def _drafts(paths: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for raw in paths:
        try:
            data = json.loads(Path(raw).read_text(encoding="utf-8"))
        except OSError as error:
            raise UsageError(f"cannot read {raw}: {error.strerror or error}") from None
        except ValueError as error:
            raise UsageError(f"{raw} is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise UsageError(f"{raw} must hold a FHIR resource or Bundle (a JSON object)")
        if data.get("resourceType") == "Bundle":
            found += [
                e["resource"]
                for e in data.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            ]
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
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in drafts],
        }
        if args.hook == "order-select":
            if not drafts:
                raise UsageError("order-select needs at least one --draft-order FILE")
            context["selections"] = [f"{r.get('resourceType')}/{r['id']}" for r in drafts]
    try:
        # The same normal form the hook path checks and requests (dot segments, %2e, ...).
        server = str(normalize_url(args.fhir_server)).rstrip("/")
    except UrlError as error:
        raise UsageError(f"--fhir-server is not a usable fhirServer: it {error}") from None
    request: dict[str, Any] = {
        "hook": args.hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": server,
        "context": context,
    }
    if args.token:
        request["fhirAuthorization"] = {
            "access_token": args.token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/MedicationRequest.read user/Condition.read",
            "subject": "benzo-cds-cli",
        }
    return request


def render_card(card: Card, colour: bool) -> str:
    start, end = (_COLOURS[card.indicator], _RESET) if colour else ("", "")
    lines = [f"{start}[{card.indicator.upper()}]{end} {card.summary}"]
    if card.detail:
        for paragraph in card.detail.splitlines():
            lines.append(
                textwrap.fill(paragraph, 96, initial_indent="    ", subsequent_indent="    ")
                if paragraph
                else ""
            )
    for suggestion in card.suggestions or ():
        lines.append(f"    -> suggestion: {suggestion.label}")
    for link in card.links or ():
        lines.append(f"    -> {link.label}: {link.url}")
    lines.append(
        f"    source: {card.source.label}" + (f" <{card.source.url}>" if card.source.url else "")
    )
    return "\n".join(lines)


def _hints(message: str) -> list[str]:
    """What to check next, from the (id- and token-free) gather failure message."""
    hints = []
    if "answered 401" in message or "answered 403" in message:
        hints.append("the FHIR server refused the request: pass a valid --token")
    if "answered 404" in message:
        hints.append(
            "the FHIR server has no such resource: check --patient and that "
            "--fhir-server is the FHIR base URL (e.g. https://host/fhir/r4)"
        )
    if "unreachable" in message or "timed out" in message:
        hints.append("could not talk to the FHIR server: check --fhir-server and that it is up")
    return hints


def _settings(date_arg: str | None) -> Settings:
    settings = get_settings()
    if date_arg:
        try:
            day = date.fromisoformat(date_arg)
        except ValueError:
            raise UsageError(f"--date {date_arg!r} is not a date (YYYY-MM-DD)") from None
        settings = settings.model_copy(update={"evaluation_date": day})
    return settings


async def run_review(args: argparse.Namespace) -> int:
    """Print the cards for one patient on a FHIR server; 0 on success, 1 FHIR/data, 2 usage."""
    try:
        settings = _settings(args.date)
        request = build_request(args)
    except ValidationError as error:
        print(
            f"error: invalid BENZO_CDS_* configuration: {error.error_count()} problem(s)",
            file=sys.stderr,
        )
        return 2
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    service = next(s for s in SERVICES.values() if s.hook == args.hook)
    http = make_fhir_client(settings)
    try:
        evaluation = await evaluate_call(
            request,
            service,
            http=http,
            settings=settings,
            allowed_fhir_servers=[request["fhirServer"]],
        )
    except CdsError as error:
        print(f"error: {error.message}", file=sys.stderr)
        for detail in error.details:
            print(f"  {detail}", file=sys.stderr)
        for hint in _hints(error.message):
            print(f"hint: {hint}", file=sys.stderr)
        return 1
    finally:
        await http.aclose()
    if args.json:
        print(json.dumps(CdsResponse(cards=tuple(evaluation.cards)).to_json(), indent=2))
        return 0
    record = evaluation.record
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print(
        f"Patient age {record.age if record.age is not None else 'unknown'}, "
        f"{len(record.medications)} medication orders, {len(record.conditions)} conditions, "
        f"evaluated {record.evaluated_on.isoformat()} ({args.hook})"
    )
    if record.skipped:
        print("Skipped: " + ", ".join(f"{k} x{v}" for k, v in sorted(record.skipped.items())))
    if not evaluation.cards:
        print("No cards: nothing to flag.")
    for card in evaluation.cards:
        print()
        print(render_card(card, colour))
    return 0
