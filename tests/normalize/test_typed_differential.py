"""The typed fast path equals the lenient path: same record, same cards, or it steps aside.

Three guarantees, each able to fail:
- on generated clean and messy hook bodies, whenever the typed path answers, the lenient path
  answers too, with an equal PatientRecord and equal cards (and the typed path answers often);
- every field the lenient reader touches is declared in the typed schema (a field a new rule
  starts reading fails here, before it can differ in production);
- realistic bodies (fixtures, the benchmark's patients) do take the typed path.
"""

from __future__ import annotations

import asyncio
import json
import types
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.cards import run_rules
from app.config import Settings
from app.errors import CdsError
from app.fhir.gather import gather
from app.hooks.definitions import SERVICES
from app.hooks.evaluate import count_resources
from app.models.hooks import parse_hook_request
from app.normalize import build_record, typed
from app.normalize.typed import schema
from app.record import PatientRecord
from bench import data
from tests.normalize.typed_bodies import hook_body

ROOT = Path(__file__).resolve().parents[2]
BY_HOOK = {s.hook: s for s in SERVICES.values()}
SETTINGS = Settings(
    _env_file=None,
    evaluation_date=data.EVALUATION_DATE,  # type: ignore[call-arg]
    max_resources_per_call=40,
)
ALLOWED = ["http://fhir.example/r4"]


def _refuse(_: httpx.Request) -> httpx.Response:
    return httpx.Response(503)


def lenient(body: Any, *, count: bool = True) -> PatientRecord | int:
    """The lenient path's record, or the HTTP status it answers with.

    ``count=False`` skips the resource count (it reads ``entry`` of any object; the typed
    path has its own count), for the field-coverage runs.
    """
    service = BY_HOOK.get(
        body.get("hook") if isinstance(body, dict) else None, SERVICES["benzo-safety-patient-view"]
    )

    async def run() -> PatientRecord:
        request, context = parse_hook_request(body, service.hook)
        if count and count_resources(body) > SETTINGS.max_resources_per_call:
            raise CdsError("too many")
        async with httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as client:
            gathered = await gather(request, context, service, client, SETTINGS, ALLOWED)
        return build_record(gathered, today=SETTINGS.today(), settings=SETTINGS)

    try:
        return asyncio.run(run())
    except CdsError as error:
        return error.status_code


def fast(raw: bytes, hook: str) -> PatientRecord | None:
    service = BY_HOOK.get(hook, SERVICES["benzo-safety-patient-view"])
    try:
        chart = typed.read_chart(
            typed.decode(raw), service, ALLOWED, SETTINGS.max_resources_per_call
        )
        return typed.build_record(chart, today=SETTINGS.today(), settings=SETTINGS)
    except typed.NotFast:
        return None


def check_same(body: dict[str, Any]) -> str:
    """Compare both paths on one body; the path that answered."""
    raw = orjson.dumps(body)
    quick = fast(raw, body.get("hook", ""))
    slow = lenient(orjson.loads(raw))
    if quick is None:
        return "lenient"
    assert isinstance(slow, PatientRecord), f"typed answered where lenient said {slow}"
    assert quick == slow
    assert run_rules(quick, SETTINGS) == run_rules(slow, SETTINGS)
    return "typed"


def test_generated_bodies_same_record_and_cards() -> None:
    """Clean and messy bodies: equal answers whenever the typed path answers; both exercised."""
    seen: Counter[str] = Counter()

    @settings(
        max_examples=250,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(hook_body())
    def run(body: dict[str, Any]) -> None:
        path = check_same(body)
        seen[path] += 1
        event(path)
        assert_fields_declared(body)

    run()
    assert seen["typed"] >= 20 and seen["lenient"] >= 20, seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_clean_bodies_take_the_typed_path(draw: st.DataObject) -> None:
    """Bodies without the messy parts are answered by the typed reader, and equally."""
    seed = draw.draw(st.integers(0, 10**6))
    size = draw.draw(st.sampled_from([data.TYPICAL, data.HEAVY]))
    patient = data.make_patient(size, seed=seed, patient_id=f"p{seed}")
    build = draw.draw(st.sampled_from([data.patient_view_request, data.order_select_request]))
    body = build(patient, seed=seed)
    big = Settings(_env_file=None, evaluation_date=data.EVALUATION_DATE)  # type: ignore[call-arg]
    raw = orjson.dumps(body)
    chart = typed.read_chart(
        typed.decode(raw), BY_HOOK[body["hook"]], None, big.max_resources_per_call
    )
    quick = typed.build_record(chart, today=big.today(), settings=big)
    request, context = parse_hook_request(orjson.loads(raw), body["hook"])
    gathered = asyncio.run(_gather_plain(request, context, body["hook"], big))
    slow = build_record(gathered, today=big.today(), settings=big)
    assert quick == slow
    assert run_rules(quick, big) == run_rules(slow, big)


async def _gather_plain(request: Any, context: Any, hook: str, settings_: Settings) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as client:
        return await gather(request, context, BY_HOOK[hook], client, settings_, None)


# --- every field the lenient reader touches is declared in the typed schema ----------------


class Recorder(dict):  # type: ignore[type-arg]
    """A dict that notes which keys are read, under its place in a resource."""

    log: set[tuple[tuple[str, ...], str]] = set()

    def __init__(self, path: tuple[str, ...], items: dict[str, Any]) -> None:
        super().__init__(items)
        self.path = path

    def get(self, key: str, default: Any = None) -> Any:
        Recorder.log.add((self.path, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        Recorder.log.add((self.path, key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        Recorder.log.add((self.path, str(key)))
        return super().__contains__(key)


def wrap(value: Any, path: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        kind = value.get("resourceType")
        here = (kind,) if isinstance(kind, str) and kind else path
        return Recorder(here, {k: wrap(v, here + (k,)) for k, v in value.items()})
    if isinstance(value, list):
        return [wrap(v, path) for v in value]
    return value


def _members(kind: Any) -> list[Any]:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return [m for arg in typing.get_args(kind) for m in _members(arg)]
    if typing.get_origin(kind) in (list, tuple):
        return [m for arg in typing.get_args(kind) for m in _members(arg)]
    return [kind]


def declared(path: tuple[str, ...], key: str) -> bool:
    """True when schema[path[0]] declares path[1:] + key (or holds it raw / as Any)."""
    root = getattr(schema, path[0], None) if path else None
    if not (isinstance(root, type) and issubclass(root, msgspec.Struct)):
        return True  # the envelope (pydantic), or a type the typed path leaves to the lenient
    current = [root]
    for name in (*path[1:], key):
        if name == "resourceType":
            return True
        nxt: list[Any] = []
        for struct in current:
            fields = {f.name: f.type for f in msgspec.structs.fields(struct)}
            if name not in fields:
                continue
            for member in _members(fields[name]):
                if member in (Any, msgspec.Raw):
                    return True
                if isinstance(member, type) and issubclass(member, msgspec.Struct):
                    nxt.append(member)
                elif name == key:
                    nxt.append(member)
        if not nxt:
            return False
        current = [c for c in nxt if isinstance(c, type) and issubclass(c, msgspec.Struct)] or nxt
    return True


def assert_fields_declared(body: Any) -> None:
    Recorder.log = set()
    lenient(wrap(body), count=False)
    missing = sorted(f"{'.'.join(p)}.{k}" for p, k in Recorder.log if not declared(p, k))
    assert not missing, (
        "the lenient reader reads fields the typed schema does not declare "
        f"(add them to app/normalize/typed/schema.py and its reader): {missing}"
    )


def _request_bodies() -> list[tuple[str, Any]]:
    found = []
    for folder in ("hooks", "samples"):
        for path in sorted((ROOT / "fhir_fixtures" / folder).glob("*.json")):
            found.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    for size in (data.TYPICAL, data.HEAVY):
        patient = data.make_patient(size)
        found += [
            (f"bench-{size.name}-pv", data.patient_view_request(patient)),
            (f"bench-{size.name}-os", data.order_select_request(patient)),
        ]
    return found


@pytest.mark.parametrize(
    ("name", "body"), _request_bodies(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_fixture_bodies_declared_and_typed(name: str, body: Any) -> None:
    """Every realistic body takes the typed path (DSTU2 and fetching ones the lenient), with
    equal records."""
    assert_fields_declared(body)
    big = Settings(_env_file=None, evaluation_date=data.EVALUATION_DATE)  # type: ignore[call-arg]
    raw = orjson.dumps(body)
    if "fallback" in name:
        with pytest.raises(typed.NotFast):
            typed.read_chart(typed.decode(raw), BY_HOOK[body["hook"]], None, 10_000)
        return
    slow = build_record(
        asyncio.run(
            _gather_plain(*parse_hook_request(orjson.loads(raw), body["hook"]), body["hook"], big)
        ),
        today=big.today(),
        settings=big,
    )
    try:
        chart = typed.read_chart(
            typed.decode(raw), BY_HOOK[body["hook"]], None, big.max_resources_per_call
        )
    except typed.NotFast:
        # DSTU2 MedicationOrder, and a call without prefetch, are the lenient path's
        assert "dstu2" in name or "fallback" in name
        return
    assert "dstu2" not in name and "fallback" not in name
    quick = typed.build_record(chart, today=big.today(), settings=big)
    assert quick == slow
    assert run_rules(quick, big) == run_rules(slow, big)


def test_schema_check_catches_an_undeclared_read() -> None:
    """The coverage check itself can fail: a read of a field the schema lacks is reported."""
    assert declared(("CarePlan",), "title")
    assert declared(("MedicationRequest", "dispenseRequest"), "anything")  # raw below
    assert not declared(("CarePlan",), "goal")
    assert not declared(("Condition", "code"), "extension")
