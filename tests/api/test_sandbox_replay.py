"""What the real CDS Hooks Sandbox sent (fhir_fixtures/sandbox/) still answers 200 with its cards.

The calls are replayed in the order the Sandbox made them: hooks first, then the feedback on
the cards they showed (card and suggestion uuids are deterministic, so feedback still joins).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.shared_data import SHARED, needs_shared

SANDBOX = FIXTURES / "sandbox"
CAPTURED_ON = date(2026, 11, 27)  # fhir_fixtures/sandbox/README.md
HOOKS = sorted(p.name for p in SANDBOX.glob("benzo-safety-*.json"))
FEEDBACK = sorted(p.name for p in SANDBOX.glob("feedback-*.json"))


def _capture(name: str) -> dict[str, Any]:
    return json.loads((SANDBOX / name).read_text(encoding="utf-8"))


def _shown(cards: list[dict[str, Any]]) -> set[str]:
    return {c["uuid"] for c in cards} | {
        s["uuid"] for c in cards for s in c.get("suggestions") or []
    }


def test_captures_cover_the_three_hooks_and_feedback() -> None:
    hooks = {_capture(name)["body"]["hook"] for name in HOOKS}
    assert hooks == {"patient-view", "order-select", "order-sign"}
    assert {_capture(name)["body"]["feedback"][0]["outcome"] for name in FEEDBACK} == {
        "accepted",
        "overridden",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_hook_call_answers_as_recorded(make_client: Callable[..., Any], name: str) -> None:
    capture = _capture(name)
    client = make_client(evaluation_date=CAPTURED_ON)
    response = client.post(f"/cds-services/{capture['url_path']}", json=capture["body"])
    assert response.status_code == capture["status"], response.text
    rules = [c["source"]["topic"]["code"] for c in response.json()["cards"]]
    assert sorted(rules) == sorted(capture["response_rules"])


def test_session_replayed_in_order(make_client: Callable[..., Any]) -> None:
    client = make_client(evaluation_date=CAPTURED_ON)
    shown: set[str] = set()
    for name in HOOKS:
        capture = _capture(name)
        response = client.post(f"/cds-services/{capture['url_path']}", json=capture["body"])
        assert response.status_code == 200
        shown |= _shown(response.json()["cards"])
    for name in FEEDBACK:
        capture = _capture(name)
        item = capture["body"]["feedback"][0]
        assert item["card"] in shown, f"{name}: feedback on a card this replay did not show"
        assert {s["id"] for s in item.get("acceptedSuggestions", [])} <= shown
        response = client.post(f"/cds-services/{capture['url_path']}", json=capture["body"])
        assert response.status_code == capture["status"], response.text
        assert response.json() == capture["response_rules"]


@needs_shared("sandbox_captures")
@pytest.mark.parametrize("name", HOOKS + FEEDBACK)
def test_requests_are_the_captured_ones(name: str) -> None:
    # What the Sandbox sent stays verbatim; the recorded answer is the expectation and may be
    # updated when a rule changes on purpose.
    original: Path = SHARED / "sandbox_captures" / name
    captured = json.loads(original.read_text(encoding="utf-8"))
    ours = _capture(name)
    assert (ours["url_path"], ours["body"]) == (captured["url_path"], captured["body"])
