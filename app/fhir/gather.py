"""Gather the raw FHIR data one hook call needs: prefetch first, the FHIR server for the rest.

Decisions (CDS Hooks 2.0 "Prefetch", plus our own fhirServer trust rules):

* Per prefetch key: a resource or Bundle is used as sent; JSON null means "no data" and is not
  fetched; an absent key, an OperationOutcome or anything that is not a FHIR resource object is
  fetched from fhirServer with the same template. All fetches of a call run concurrently, each
  bounded by ``fhir_timeout_seconds`` and the whole call by ``call_time_budget_seconds``.
* A fhirServer outside ``allowed_fhir_servers`` (None = any server) is never contacted, with or
  without a token: we do not raise at once (prefetch may cover everything), but any data that
  then has to be fetched fails with 412 saying the server is not on the allowlist.
* Every URL requested (rendered template, next link, medicationReference) is first put in
  normal form (app/fhir/urls.py: dot segments, `%2e`, ...) and checked against the fhirServer base;
  the normal form is what is requested, so a URL that normalizes outside the base never gets
  the token.
* Data we cannot get (no server, server refused, non-200 answer, timeout, invalid JSON, wrong
  resource type, a next link that is no valid URL (control characters, ...)): for the data no
  rule can do without (``service.required``: Patient and MedicationRequest) ->
  PreconditionFailed (412, the spec's SHALL). Any other key is recorded in
  ``Gathered.missing`` and the call goes on: the spec calls prefetch a request, not a
  requirement, and a missing CarePlan search must not cost the clinician the overlap card.
  Messages name the data and the reason, never a URL, token or patient id.
* Limits we impose ourselves stop gathering without failing the call, and are recorded in
  ``Gathered.skipped``: the page cap, a next link off the FHIR server base or already seen, a
  prefetched Bundle with a next link but no usable server, and ``max_resources_per_call``
  (resources beyond it are dropped). Cards are advisory; partial data is flagged, not fatal.
* A Medication named by medicationReference that we cannot resolve (unreachable, off the server,
  not a valid URL) is left unresolved (the normalizer falls back to medicationReference.display)
  and counted in skipped.
* Chart resources whose subject/patient names another patient are dropped and counted; draft
  orders come from the context itself and are taken as sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.config import Settings
from app.errors import PreconditionFailed
from app.fhir.bundles import (
    Resource,
    entries,
    is_bundle,
    next_link,
    resource_type,
)
from app.fhir.client import FetchFailure, FhirFetcher
from app.fhir.gathered import DataNeeds, Gathered, SourceKind
from app.fhir.routing import ChartRouter, Entry
from app.fhir.servers import OffServer, is_allowed, parse_base
from app.fhir.templates import TemplateError, describe, is_read, render, token_values
from app.fhir.templates import resource_type as template_type
from app.fhir.urls import UrlError
from app.models.hooks import BaseContext, DraftOrdersBundle, HookRequest

log = logging.getLogger(__name__)

_SAFE_TYPE = re.compile(r"^[A-Za-z]{1,40}$")


@dataclass(frozen=True)
class _Plan:
    key: str
    template: str
    kind: str
    read: bool
    what: str

    @classmethod
    def of(cls, key: str, template: str) -> _Plan:
        return cls(key, template, template_type(template), is_read(template), describe(template))


@dataclass
class _KeyResult:
    key: str
    source: SourceKind
    entries: list[Entry] = field(default_factory=list)


def _type_name(answer: Any) -> str:
    kind = resource_type(answer)
    if kind is None:
        return "something that is not a FHIR resource"
    if not _SAFE_TYPE.match(kind):
        return "an unknown resource type"
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"


class _Call(ChartRouter):
    """State shared by the concurrent fetches of one hook call."""

    def __init__(
        self,
        request: HookRequest,
        context: BaseContext,
        client: httpx.AsyncClient,
        settings: Settings,
        allowed: Sequence[str] | None,
    ) -> None:
        super().__init__(
            settings, context.patientId, Gathered(patient_id=context.patientId, hook=request.hook)
        )
        self.context = context
        self.prefetch = request.prefetch or {}
        self.values = token_values(context)
        self.deadline = asyncio.get_running_loop().time() + settings.call_time_budget_seconds
        self.paged_resources = 0
        self.fetcher: FhirFetcher | None = None
        self.unavailable = "no prefetch and no fhirServer"
        if request.fhirServer is not None:
            if is_allowed(request.fhirServer, allowed):
                self.base = parse_base(request.fhirServer)
            else:
                self.unavailable = (
                    "no prefetch, and the fhirServer is not on this service's allowlist"
                )
                log.warning("fhirServer refused: not on the allowlist; it will not be contacted")
        if self.base is not None:
            token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
            self.fetcher = FhirFetcher(
                client,
                token,
                timeout_seconds=settings.fhir_timeout_seconds,
                max_bytes=settings.max_body_bytes,
            )

    def remaining(self) -> float:
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    # --- one prefetch key ---

    async def collect(self, plan: _Plan) -> _KeyResult:
        if plan.key in self.prefetch:
            value = self.prefetch[plan.key]
            if value is None:
                return _KeyResult(plan.key, "prefetch-null")
            kind = resource_type(value)
            if kind == "Bundle":
                return _KeyResult(plan.key, "prefetch", await self.pages(value, None))
            if kind == plan.kind and plan.read:
                return _KeyResult(plan.key, "prefetch", [(None, value)])
            self.gathered.skip(
                "prefetch-operation-outcome"
                if kind == "OperationOutcome"
                else "prefetch-not-a-resource"
                if kind is None
                else "prefetch-unexpected-type"
            )
        return _KeyResult(plan.key, "fhir", await self.fetch(plan))

    async def fetch(self, plan: _Plan) -> list[Entry]:
        if self.fetcher is None or self.base is None:
            raise FetchFailure(self.unavailable)
        try:
            url = self.base.locate(render(plan.template, self.values).lstrip("/"))
        except TemplateError as error:
            raise FetchFailure(str(error)) from None
        except UrlError as error:
            raise FetchFailure(f"the rendered template {error}") from None
        except OffServer:
            raise FetchFailure("the rendered template points outside the FHIR server") from None
        answer = await self.fetcher.get_json(url)
        kind = resource_type(answer)
        if plan.read and kind == plan.kind:
            return [(url, answer)]
        if plan.read and kind != "Bundle":
            raise FetchFailure(f"FHIR server answered the read with {_type_name(answer)}")
        if kind != "Bundle":
            raise FetchFailure(
                f"FHIR server answered the search with {_type_name(answer)}, not a Bundle"
            )
        return await self.pages(answer, url)

    async def pages(self, bundle: Resource, url: str | None) -> list[Entry]:
        """The entries of a Bundle and of its next pages, within our paging limits."""
        seen = {url} if url else set()
        collected: list[Entry] = []
        page = 1
        while True:
            found, bad = entries(bundle)
            if bad:
                self.gathered.skip("bundle-entry-without-resource", bad)
            collected += found
            self.paged_resources += len(found)
            link = next_link(bundle)
            if link is None:
                return collected
            next_url, stop = self._next_page(link, seen, page)
            if next_url is None:
                self.gathered.skip(stop)
                return collected
            assert self.fetcher is not None
            seen.add(next_url)
            answer = await self.fetcher.get_json(next_url)
            if not is_bundle(answer):
                raise FetchFailure(
                    f"page {page + 1} of the search was {_type_name(answer)}, not a Bundle"
                )
            bundle = answer
            page += 1

    def _next_page(self, link: str, seen: set[str], page: int) -> tuple[str | None, str]:
        """(normalized URL to follow, "") or (None, why we do not follow this next link)."""
        if page >= self.settings.fhir_max_pages:
            return None, "paging-page-cap-reached"
        if self.fetcher is None or self.base is None:
            return None, "paging-no-usable-fhir-server"
        try:
            next_url = self.base.locate(link)
        except UrlError as error:
            # The rest of the search cannot be had: as for a page that fails (412).
            raise FetchFailure(f"the next link of page {page} {error}") from None
        except OffServer:
            return None, "paging-next-link-off-server"
        if next_url in seen:
            return None, "paging-next-link-loop"
        if self.paged_resources >= self.settings.max_resources_per_call:
            return None, "paging-resource-cap-reached"
        return next_url, ""

    async def resolve_medications(self, orders: Iterable[Resource]) -> None:
        wanted = self.unresolved_medications(orders)
        if not wanted or self.fetcher is None:
            return
        by_url: dict[str, list[str]] = {}
        for ref, url in wanted.items():
            by_url.setdefault(url, []).append(ref)
        fetcher = self.fetcher
        tasks = {url: asyncio.create_task(fetcher.get_json(url)) for url in by_url}
        await _wait(tasks.values(), self.remaining())
        for url, task in tasks.items():
            answer = None if task.cancelled() or task.exception() else task.result()
            if not isinstance(answer, dict) or resource_type(answer) != "Medication":
                self.gathered.skip("medication-unresolved", len(by_url[url]))
                continue
            rid = answer.get("id")
            self.gathered.medications[f"Medication/{rid}" if isinstance(rid, str) else url] = answer
            for ref in by_url[url]:
                self.gathered.medications[ref] = answer


async def _wait(tasks: Iterable[asyncio.Task[Any]], timeout: float) -> None:
    """Wait for the tasks up to `timeout`, then cancel and reap the stragglers."""
    pending = list(tasks)
    try:
        if pending:
            await asyncio.wait(pending, timeout=timeout)
    finally:
        late = [t for t in pending if not t.done()]
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)


def _failure_message(failures: list[tuple[_Plan, str]]) -> str:
    parts = [f"{plan.what} ({why})" for plan, why in failures]
    return "Could not obtain data this service needs: " + "; ".join(parts) + "."


async def gather(
    request: HookRequest,
    context: BaseContext,
    service: DataNeeds,
    client: httpx.AsyncClient,
    settings: Settings,
    allowed_fhir_servers: Sequence[str] | None,
) -> Gathered:
    """Collect the call's raw FHIR data into a Gathered, or raise PreconditionFailed (412)."""
    call = _Call(request, context, client, settings, allowed_fhir_servers)
    plans = [_Plan.of(key, template) for key, template in service.prefetch.items()]
    tasks = [asyncio.create_task(call.collect(plan)) for plan in plans]
    await _wait(tasks, call.remaining())

    results: list[_KeyResult] = []
    failures: list[tuple[_Plan, str]] = []
    unexpected: BaseException | None = None
    for plan, task in zip(plans, tasks, strict=True):
        # Every task's exception is retrieved, so none is left for asyncio to report.
        error = None if task.cancelled() else task.exception()
        if task.cancelled():
            failures.append(
                (
                    plan,
                    "did not finish within the "
                    f"{settings.call_time_budget_seconds:g} s call budget",
                )
            )
        elif isinstance(error, FetchFailure):
            failures.append((plan, error.reason))
        elif error is not None:
            unexpected = unexpected or error
        else:
            results.append(task.result())
    if unexpected is not None:
        raise unexpected
    needed = [(plan, why) for plan, why in failures if plan.kind in service.required]
    if needed:
        raise PreconditionFailed(_failure_message(needed))

    gathered = call.gathered
    for plan, why in failures:
        gathered.missing[plan.key] = plan.kind
        gathered.sources[plan.key] = "unavailable"
        log.info(
            "prefetch key unavailable; rules run without it", extra={"key": plan.key, "reason": why}
        )
    for result in results:
        gathered.sources[result.key] = result.source
        for full_url, resource in result.entries:
            call.route(full_url, resource)

    drafts = getattr(context, "draftOrders", None)
    if isinstance(drafts, DraftOrdersBundle):
        gathered.sources["draftOrders"] = "context"
        gathered.draft_orders = drafts.resources()
        if len(drafts.entry) > len(gathered.draft_orders):
            gathered.skip(
                "draft-entry-without-resource", len(drafts.entry) - len(gathered.draft_orders)
            )
        for full_url, resource in entries({"entry": drafts.entry})[0]:
            if resource_type(resource) == "Medication":
                call.index_medication(full_url, resource)
    selections = getattr(context, "selections", None)
    if isinstance(selections, list):
        gathered.selections = frozenset(selections)

    patient_plans = [p for p in plans if p.read and p.kind == "Patient"]
    if patient_plans and gathered.patient is None:
        why = (
            "the client sent null for it"
            if gathered.sources.get(patient_plans[0].key) == "prefetch-null"
            else "no Patient matching context.patientId was returned"
        )
        raise PreconditionFailed(_failure_message([(patient_plans[0], why)]))

    await call.resolve_medications([*gathered.medication_requests, *gathered.draft_orders])
    return gathered
