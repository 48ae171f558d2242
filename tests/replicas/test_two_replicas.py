"""Two service replicas (uvicorn processes, one with two workers) on one PostgreSQL agree:
a token is used once, an override silences the card everywhere, feedback is stored once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bench.servers import BenchError, Server
from tests.pg.cluster import asyncpg_dsn, run_async
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

pytestmark = pytest.mark.slow
CONCURRENT_POSTS = 200
MAX_ATTEMPTS = 5


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=30)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def fetch(url: str, query: str, *args: Any) -> list[Any]:
    return run_async(_fetch(url, query, *args))  # type: ignore[no-any-return]


@pytest.fixture
def deployment(pg_database: str, tmp_path: Path) -> Deployment:
    return Deployment(pg_database, tmp_path)


@pytest.fixture
def replicas(deployment: Deployment) -> Iterator[tuple[Server, Server]]:
    upgraded = deployment.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgraded from empty to revision" in upgraded.stdout
    first, second = deployment.replica("a", workers=2), deployment.replica("b")
    with first, second:
        yield first, second


def test_production_replica_refuses_an_empty_schema(deployment: Deployment) -> None:
    with pytest.raises(BenchError) as refused:
        deployment.replica("unmigrated").start(timeout_s=60)
    assert (
        "Refusing to start in production: database schema is empty (this release needs revision"
    ) in str(refused.value)
    assert "run `benzo-cds db upgrade`" in str(refused.value)
    current = deployment.cli("db", "current", "--check")
    assert current.returncode == 1
    assert "empty" in current.stdout and "benzo-cds db upgrade" in current.stdout
    assert "postgres@127.0.0.1" in current.stdout


def test_replicas_share_replay_snooze_and_feedback(
    deployment: Deployment, replicas: tuple[Server, Server]
) -> None:
    first, second = (httpx.Client(base_url=r.base_url, timeout=30) for r in replicas)
    with first, second:
        # A token accepted by the first replica is refused by the second (and by the first).
        auth = deployment.auth(hook_path())
        shown = first.post(hook_path(), json=overlap_request(), headers=auth)
        assert OVERLAP in rules(shown)
        assert second.post(hook_path(), json=overlap_request(), headers=auth).status_code == 401
        assert first.post(hook_path(), json=overlap_request(), headers=auth).status_code == 401

        # An override posted to the first replica silences the card on the second, at once.
        card = next(c for c in shown.json()["cards"] if c["source"]["topic"]["code"] == OVERLAP)
        # The first replica stores the issued card just after answering; a clinician takes
        # longer than that to click.
        wait_for(
            lambda: fetch(
                deployment.env["BENZO_CDS_DATABASE_URL"],
                "SELECT 1 FROM issued_cards WHERE card_uuid = $1",
                card["uuid"],
            ),
            what="the issued card to be stored",
        )
        assert OVERLAP in rules(
            second.post(hook_path(), json=overlap_request(), headers=deployment.auth(hook_path()))
        )
        stored = first.post(
            feedback_path(),
            headers=deployment.auth(feedback_path()),
            json={
                "feedback": [
                    {
                        "card": card["uuid"],
                        "outcome": "overridden",
                        "overrideReason": SNOOZE,
                        "outcomeTimestamp": stamp(),
                    }
                ]
            },
        )
        assert stored.json() == {"received": 1, "stored": 1}
        for client in (second, first, second):
            assert OVERLAP not in rules(
                client.post(
                    hook_path(), json=overlap_request(), headers=deployment.auth(hook_path())
                )
            )


async def _post_all(
    deployment: Deployment, bases: list[str], cards: list[str], timestamp: str
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT_POSTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def post(i: int, card: str) -> httpx.Response:
            body = {
                "feedback": [
                    {
                        "card": card,
                        "outcome": "overridden",
                        "outcomeTimestamp": timestamp,
                        "overrideReason": {"userComment": f"n{i}"},
                    }
                ]
            }
            for _ in range(MAX_ATTEMPTS):
                answer = await client.post(
                    bases[i % len(bases)] + feedback_path(),
                    json=body,
                    headers=deployment.auth(feedback_path()),
                )
                if answer.status_code != 503:
                    break
                # What an EHR does with a 503: wait as told, then send the same item again
                # (exactly-once must hold under retries too).
                await asyncio.sleep(float(answer.headers["Retry-After"]))
            return answer

        return await asyncio.gather(*(post(i, card) for i, card in enumerate(cards)))


def test_concurrent_feedback_over_both_replicas_is_stored_exactly_once(
    deployment: Deployment, replicas: tuple[Server, Server]
) -> None:
    bases = [r.base_url for r in replicas]
    cards = [f"load-{i:03d}" for i in range(CONCURRENT_POSTS)]
    timestamp = stamp()
    answers = asyncio.run(_post_all(deployment, bases, cards, timestamp))
    assert [a.status_code for a in answers] == [200] * CONCURRENT_POSTS
    assert sum(a.json()["stored"] for a in answers) == CONCURRENT_POSTS
    # The same items again, each to the other replica: nothing new is stored.
    again = asyncio.run(_post_all(deployment, bases[::-1], cards, timestamp))
    assert [a.status_code for a in again] == [200] * CONCURRENT_POSTS
    assert sum(a.json()["stored"] for a in again) == 0
    rows = fetch(
        deployment.env["BENZO_CDS_DATABASE_URL"],
        "SELECT card_uuid, count(*) FROM feedback WHERE card_uuid LIKE 'load-%' GROUP BY card_uuid",
    )
    assert sorted(row[0] for row in rows) == cards
    assert {row[1] for row in rows} == {1}


def test_feedback_right_after_the_answer_on_either_replica_is_attributed(
    deployment: Deployment, replicas: tuple[Server, Server]
) -> None:
    """No waiting for the issued card: the override goes out the moment the answer arrives,
    to the other replica. The issuing replica writes its queued card within its write delay
    (20 ms), and from then on every replica's call is quiet and the report counts it."""
    first, second = (httpx.Client(base_url=r.base_url, timeout=30) for r in replicas)
    with first, second:
        shown = first.post(
            hook_path(), json=overlap_request(), headers=deployment.auth(hook_path())
        )
        card = next(c for c in shown.json()["cards"] if c["source"]["topic"]["code"] == OVERLAP)
        stored = second.post(
            feedback_path(),
            headers=deployment.auth(feedback_path()),
            json={
                "feedback": [
                    {
                        "card": card["uuid"],
                        "outcome": "overridden",
                        "overrideReason": SNOOZE,
                        "outcomeTimestamp": stamp(),
                    }
                ]
            },
        )
        assert stored.json() == {"received": 1, "stored": 1}
        wait_for(
            lambda: (
                OVERLAP
                not in rules(
                    second.post(
                        hook_path(), json=overlap_request(), headers=deployment.auth(hook_path())
                    )
                )
            ),
            timeout_s=5,
            what="the override to snooze the card",
        )
        for client in (first, second):
            assert OVERLAP not in rules(
                client.post(
                    hook_path(), json=overlap_request(), headers=deployment.auth(hook_path())
                )
            )
    report = deployment.cli("feedback-report", "--json")
    assert report.returncode == 0, report.stderr
    overlap = next(r for r in json.loads(report.stdout) if r["rule_id"] == OVERLAP)
    assert (overlap["issued"], overlap["overridden"]) == (1, 1)
