"""Every CDS Hooks answer in the HTTP tests is read the way a clinician reads it (issue #11).

The EHR-shaped tests here post realistic requests; each card they get back is checked as it
arrives: a detail of at most DETAIL_WORDS_MAX rendered words in valid Markdown, a summary under
140 characters, "never stop abruptly" at most once per response, most severe cards first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.cards.common import NEVER_STOP
from app.cards.response import INDICATOR_ORDER
from tests.cards.markdown import DETAIL_WORDS_MAX, markdown_problems, rendered_words


def check_cards(cards: list[dict[str, Any]]) -> None:
    """What every response's cards must satisfy."""
    for card in cards:
        detail = card.get("detail", "")
        assert len(card["summary"]) < 140, card["summary"]
        assert rendered_words(detail) <= DETAIL_WORDS_MAX, (rendered_words(detail), detail)
        assert markdown_problems(detail) == [], detail
    assert sum(c.get("detail", "").count(NEVER_STOP) for c in cards) <= 1
    ranks = [INDICATOR_ORDER[c["indicator"]] for c in cards]
    assert ranks == sorted(ranks), [c["indicator"] for c in cards]


def _check_response(response: httpx.Response) -> None:
    path = response.request.url.path
    if (
        response.request.method != "POST"
        or not path.startswith("/cds-services/")
        or path.endswith("/feedback")
    ):
        return
    response.read()
    if response.status_code == 200:
        check_cards(response.json().get("cards", []))


@pytest.fixture
def make_client(make_client: Callable[..., TestClient]) -> Callable[..., TestClient]:
    """The shared client factory, with every hook answer checked as it arrives."""

    def factory(**overrides: Any) -> TestClient:
        client = make_client(**overrides)
        client.event_hooks["response"] = [*client.event_hooks["response"], _check_response]
        return client

    return factory
