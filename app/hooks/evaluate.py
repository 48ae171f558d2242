"""One hook call end to end: envelope -> gathered data -> record -> cards (used by HTTP and CLI)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from app.cards import RULES, fire_rules
from app.cards.base import current_medications
from app.cards.response import respond
from app.config import Settings
from app.errors import PayloadTooLarge, PreconditionFailed
from app.feedback.availability import DatabaseUnavailable
from app.feedback.snooze import drugs_key
from app.feedback.store import FeedbackStore, IssuedCard
from app.fhir.gather import gather
from app.fhir.gathered import Gathered
from app.hooks.definitions import ServiceDefinition
from app.models.cards import Card
from app.models.hooks import HookRequest, parse_hook_request, parse_json
from app.normalize import build_record, typed
from app.observability.metrics import (
    DATA_MISSING,
    DECODE_PATH,
    FHIR_ERRORS,
    SNOOZE_SKIPPED,
    SNOOZED,
)
from app.record import DrugClass, PatientRecord

log = logging.getLogger("app.service")


@dataclass
class Evaluation:
    request: HookRequest
    gathered: Gathered
    record: PatientRecord
    cards: list[Card]
    snoozed: list[str]
    # Cards to remember for snooze; stored after the answer is sent (see app/api/routes.py).
    issued: list[IssuedCard]
    # Cards of silent rules: counted and logged, never returned (snoozes do not apply).
    silent: list[Card] = field(default_factory=list)


def count_resources(body: dict[str, Any]) -> int:
    """Resources a client sent inline (prefetch bundles and draft orders)."""
    total = 0
    values = (
        list((body.get("prefetch") or {}).values())
        if isinstance(body.get("prefetch"), dict)
        else []
    )
    context = body.get("context")
    if isinstance(context, dict):
        values.append(context.get("draftOrders"))
    for value in values:
        if isinstance(value, dict):
            entries = value.get("entry")
            total += len(entries) if isinstance(entries, list) else 1
    return total


def situation_key(record: PatientRecord) -> str:
    """The drugs in play; a new one joining brings a snoozed card back."""
    return drugs_key(
        m.ingredient or m.name
        for m in current_medications(record)
        if m.drug_class is not DrugClass.OTHER
    )


def rule_of(card: Card) -> str:
    return card.source.topic.code if card.source.topic else "unknown"


async def _snoozes(store: FeedbackStore, patient_id: str) -> dict[str, set[str]]:
    """Snoozes in force, or none while the database is down: an extra card, never a lost one."""
    try:
        return await store.active_snoozes(patient_id, datetime.now(UTC))
    except DatabaseUnavailable as error:
        SNOOZE_SKIPPED.inc()
        # Per call at INFO; the outage itself is one WARNING from app.database.
        log.info(
            "snooze filter skipped: database unavailable (%s)",
            error.reason,
            extra={"reason": error.reason},
        )
        return {}


def silent_issued(evaluation: Evaluation) -> list[IssuedCard]:
    """Silent cards in the shape issued cards are stored in (patient id hashed by the store)."""
    key = situation_key(evaluation.record)
    return [
        IssuedCard(
            card_uuid=c.uuid,
            rule_id=rule_of(c),
            patient_id=evaluation.record.patient_id,
            drugs_key=key,
        )
        for c in evaluation.silent
        if c.uuid
    ]


def _typed(
    raw: bytes,
    service: ServiceDefinition,
    settings: Settings,
    allowed_fhir_servers: Sequence[str] | None,
) -> tuple[HookRequest, Gathered, PatientRecord] | None:
    """The typed reading of a body answered from prefetch alone; None when it needs the
    lenient path (which then answers exactly as it always has)."""
    try:
        chart = typed.read_chart(
            typed.decode(raw), service, allowed_fhir_servers, settings.max_resources_per_call
        )
        record = typed.build_record(chart, today=settings.today(), settings=settings)
    except typed.NotFast:
        return None
    # The Gathered the rest of the call reads: where each key came from, no resources.
    gathered = Gathered(
        patient_id=chart.patient_id,
        hook=chart.hook,
        sources=chart.sources,  # type: ignore[arg-type]
        skipped=chart.skipped,
        selections=chart.selections,
    )
    return chart.request, gathered, record


async def evaluate_body(
    raw: bytes,
    service: ServiceDefinition,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    allowed_fhir_servers: Sequence[str] | None,
    store: FeedbackStore | None = None,
) -> Evaluation:
    """A hook call from its body's bytes: the typed reader when the body fits it, else the
    lenient one (settings.typed_decode turns the typed reader off)."""
    fast = _typed(raw, service, settings, allowed_fhir_servers) if settings.typed_decode else None
    if fast is None:
        DECODE_PATH.labels("lenient").inc()
        return await evaluate_call(
            parse_json(raw),
            service,
            http=http,
            settings=settings,
            allowed_fhir_servers=allowed_fhir_servers,
            store=store,
        )
    DECODE_PATH.labels("typed").inc()
    request, gathered, record = fast
    return await _conclude(request, gathered, record, service, settings, store)


async def evaluate_call(
    body: Any,
    service: ServiceDefinition,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    allowed_fhir_servers: Sequence[str] | None,
    store: FeedbackStore | None = None,
) -> Evaluation:
    """Validate, gather, normalize, run the rules; apply snoozes when given a store."""
    request, context = parse_hook_request(body, service.hook)
    inline = count_resources(body)
    if inline > settings.max_resources_per_call:
        raise PayloadTooLarge(
            f"The request carries {inline} resources; the limit is "
            f"{settings.max_resources_per_call}."
        )
    try:
        gathered = await gather(request, context, service, http, settings, allowed_fhir_servers)
    except PreconditionFailed:
        FHIR_ERRORS.labels(service.id).inc()
        raise
    record = build_record(gathered, today=settings.today(), settings=settings)
    return await _conclude(request, gathered, record, service, settings, store)


async def _conclude(
    request: HookRequest,
    gathered: Gathered,
    record: PatientRecord,
    service: ServiceDefinition,
    settings: Settings,
    store: FeedbackStore | None,
) -> Evaluation:
    """Rules, snoozes and what is logged: the same for both readers."""
    firings = fire_rules(record, settings)
    cards = firings.shown
    snoozed: list[str] = []
    issued: list[IssuedCard] = []
    if store is not None and cards:
        key = situation_key(record)
        muted = await _snoozes(store, record.patient_id)
        kept = []
        for card in cards:
            if key in muted.get(rule_of(card), set()):
                snoozed.append(rule_of(card))
                SNOOZED.labels(rule_of(card)).inc()
            else:
                kept.append(card)
        cards = kept
        issued = [
            IssuedCard(
                card_uuid=c.uuid, rule_id=rule_of(c), patient_id=record.patient_id, drugs_key=key
            )
            for c in cards
            if c.uuid
        ]
    # Most severe first, each piece of advice once: on the cards that are actually shown.
    cards = respond(cards, tuple(RULES))
    if record.skipped:
        log.info("resources skipped", extra={"skipped": record.skipped, "service": service.id})
    if gathered.missing:
        for key in gathered.missing:
            DATA_MISSING.labels(service.id, key).inc()
        log.info("data missing", extra={"missing": sorted(gathered.missing), "service": service.id})
    return Evaluation(request, gathered, record, cards, snoozed, issued, firings.silent)
