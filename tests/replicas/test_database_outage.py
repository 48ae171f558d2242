"""PostgreSQL stops under a running replica, then comes back: cards keep coming (snoozes
skipped), feedback answers 503 and stores nothing, readiness fails while liveness holds, and
everything recovers without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.pg.cluster import PgCluster, create_database
from tests.replicas.support import (
    OVERLAP,
    SNOOZE,
    Deployment,
    feedback_path,
    hook_path,
    overlap_request,
    rules,
    stamp,
    wait_for,
)
from tests.replicas.test_two_replicas import fetch

pytestmark = pytest.mark.slow
BUDGET_SECONDS = 8.0  # Settings.call_time_budget_seconds


def _items(*cards: str) -> dict[str, object]:
    return {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": SNOOZE,
                "outcomeTimestamp": stamp(),
            }
            for card in cards
        ]
    }


def test_postgresql_stops_and_comes_back(pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = create_database(pg_cluster.url)
    deployment = Deployment(url, tmp_path)
    assert deployment.cli("db", "upgrade").returncode == 0
    with (
        deployment.replica("solo") as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):

        def hook() -> httpx.Response:
            return http.post(
                hook_path(), json=overlap_request(), headers=deployment.auth(hook_path())
            )

        def feedback(body: dict[str, object]) -> httpx.Response:
            return http.post(feedback_path(), json=body, headers=deployment.auth(feedback_path()))

        first = hook()
        card = next(c for c in first.json()["cards"] if c["source"]["topic"]["code"] == OVERLAP)
        wait_for(
            lambda: fetch(url, "SELECT 1 FROM issued_cards WHERE card_uuid = $1", card["uuid"]),
            what="the issued card to be stored",
        )
        assert feedback(_items(card["uuid"])).json()["stored"] == 1
        snoozed = rules(hook())
        assert OVERLAP not in snoozed and snoozed
        assert http.get("/health").json()["database"] == "ok"

        pg_cluster.stop()

        # Hook calls: 200 with every card, the snoozed one included (an extra card, never a
        # lost one), each within the call budget.
        for _ in range(5):
            started = time.monotonic()
            during = hook()
            assert time.monotonic() - started < BUDGET_SECONDS
            assert rules(during) == snoozed | {OVERLAP}
        # Feedback: 503 with Retry-After, an OperationOutcome, and nothing half-stored.
        refused = feedback(_items("outage-1", "outage-2", "outage-3"))
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["resourceType"] == "OperationOutcome"
        # Readiness fails; liveness holds.
        health = http.get("/health")
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"
        assert health.json()["status"] == "unavailable"
        assert http.get("/health/live").status_code == 200
        assert "snooze filter skipped" in server.log_path.read_text(encoding="utf-8")

        pg_cluster.start()

        # Recovery without a restart: readiness, snoozes and feedback come back by themselves.
        wait_for(
            lambda: http.get("/health").status_code == 200,
            timeout_s=30,
            what="/health to answer 200 again",
        )
        wait_for(
            lambda: OVERLAP not in rules(hook()), timeout_s=10, what="the snooze to apply again"
        )
        again = feedback(_items("outage-1", "outage-2", "outage-3"))
        assert again.json() == {"received": 3, "stored": 3}  # none was stored during the outage
        assert (
            fetch(url, "SELECT count(*) FROM feedback WHERE card_uuid LIKE 'outage-%'")[0][0] == 3
        )
        assert server.process is not None and server.process.poll() is None


async def test_a_restart_between_calls_costs_no_call(pg_cluster: PgCluster) -> None:
    """Pooled connections die with the server; the next call retries once on a fresh one."""
    from datetime import UTC, datetime

    from app.config import Settings
    from app.feedback.db import make_engine
    from app.feedback.store import FeedbackStore

    settings = Settings(_env_file=None, database_url=create_database(pg_cluster.url))  # type: ignore[call-arg]
    engine = make_engine(settings)
    store = FeedbackStore(engine, settings)
    try:
        await store.init()
        assert await store.active_snoozes("p", datetime.now(UTC)) == {}  # a pooled connection
        pg_cluster.stop()
        pg_cluster.start()
        assert await store.active_snoozes("p", datetime.now(UTC)) == {}
        assert store.availability.available
    finally:
        await engine.dispose()
