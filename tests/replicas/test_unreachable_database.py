"""A database that accepts connections and never answers: every wait is bounded, cards come,
feedback is refused with 503, readiness fails; no call hangs on it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.observability.metrics import SNOOZE_SKIPPED
from tests.conftest import load_fixture

PV = "benzo-safety-patient-view"


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and then says nothing, like a hung server."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_hung_database_costs_bounded_waits(
    make_client: Callable[..., TestClient], black_hole: int
) -> None:
    client = make_client(
        database_url=f"postgresql+asyncpg://cds@127.0.0.1:{black_hole}/cds",
        database_timeout_seconds=0.5,
        database_retry_seconds=60,
    )
    skipped = SNOOZE_SKIPPED._value.get()
    body = load_fixture("hooks/patient-view-overlap.json")
    cards = client.post(f"/cds-services/{PV}", json=body)
    assert cards.status_code == 200
    assert {c["source"]["topic"]["code"] for c in cards.json()["cards"]} == {
        "opioid-benzodiazepine-overlap",
        "taper-plan",
    }
    assert SNOOZE_SKIPPED._value.get() == skipped + 1  # counted (and logged)

    refused = client.post(
        f"/cds-services/{PV}/feedback",
        json={
            "feedback": [
                {
                    "card": "c",
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-23T10:00:00Z",
                    "overrideReason": {"reason": {"code": "snooze-3-months"}},
                }
            ]
        },
    )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
    health = client.get("/health")  # always probes: the driver gives up after 0.5 s
    assert (health.status_code, health.json()["database"]) == (503, "unavailable")
    assert client.get("/health/live").status_code == 200
