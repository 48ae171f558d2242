"""CPU time of the feedback store's part of a hook call, alone, in process.

`python -m bench.store [--database-url URL] [--calls 2000] [--concurrency 1 16]` runs, per
simulated hook call that shows cards, what the service does with the store: the snooze read
before the answer (`FeedbackStore.active_snoozes`) and the issued-card write after it
(`record_issued`, two new cards per call). Calls run `--concurrency` at a time, as a worker's
event loop interleaves them; each figure is the process's CPU time (every thread, so
aiosqlite's included) over the whole run divided by the calls, and the calls per second of
wall clock. The store is drained before the clock stops, so writes still queued are paid for.
Patients rotate over `--patients` ids; a tenth of them have a snoozed card, so some reads
return rows. Default database: a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.feedback.models import parse_feedback

SERVICE = "benzo-safety-patient-view"
RULES = ("opioid-benzodiazepine-overlap", "naloxone-missing")


def _issued(patient: str) -> list[Any]:
    from app.feedback.store import IssuedCard

    return [
        IssuedCard(
            card_uuid=str(uuid.uuid4()),
            rule_id=rule,
            patient_id=patient,
            drugs_key="lorazepam+oxycodone",
        )
        for rule in RULES
    ]


async def _store(url: str) -> Any:
    from app.config import Settings
    from app.feedback.db import make_engine
    from app.feedback.store import FeedbackStore

    settings = Settings(
        _env_file=None,
        database_url=url,  # type: ignore[call-arg]
        patient_hash_key="bench-hash-key-0123456789",
        log_level="WARNING",
    )
    store = FeedbackStore(make_engine(settings), settings)
    await store.init()
    return store


async def _drain(store: Any) -> None:
    # A store that writes behind the answer has cards queued: their write counts too.
    flush = getattr(store, "flush_issued", None)
    if flush is not None:
        await flush()


async def _seed(store: Any, patients: list[str]) -> None:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for patient in patients[::10]:
        cards = _issued(patient)
        await store.record_issued(SERVICE, cards)
        await _drain(store)
        await store.record_feedback(
            SERVICE,
            parse_feedback(
                {
                    "feedback": [
                        {
                            "card": cards[0].card_uuid,
                            "outcome": "overridden",
                            "outcomeTimestamp": now,
                            "overrideReason": {"reason": {"code": "snooze-3-months"}},
                        }
                    ]
                }
            ),
        )


async def _run(
    store: Any, patients: list[str], calls: int, concurrency: int
) -> tuple[float, float]:
    counter = iter(range(calls))

    async def worker() -> None:
        for index in counter:
            patient = patients[index % len(patients)]
            await store.active_snoozes(patient, datetime.now(UTC))
            await store.record_issued(SERVICE, _issued(patient))

    cpu, wall = time.process_time_ns(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await _drain(store)
    cpu_us = (time.process_time_ns() - cpu) / 1000 / calls
    return cpu_us, calls / (time.perf_counter() - wall)


async def measure(
    url: str, calls: int, concurrencies: list[int], patients: int, repeats: int
) -> dict[int, tuple[float, float]]:
    store = await _store(url)
    ids = [f"bench-store-{uuid.uuid4().hex[:8]}-{i}" for i in range(patients)]
    try:
        await _seed(store, ids)
        await _run(store, ids, min(calls, 300), 4)  # warm-up: pools, caches, statements
        out = {}
        for concurrency in concurrencies:
            runs = [await _run(store, ids, calls, concurrency) for _ in range(repeats)]
            out[concurrency] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
            )
        return out
    finally:
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()
        await store.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    url = args.database_url or (
        f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='benzo-store-')) / 'store.db'}"
    )
    result = asyncio.run(measure(url, args.calls, args.concurrency, args.patients, args.repeats))
    print(
        f"store part of a hook call ({url.split(':', 1)[0]}), medians of {args.repeats} "
        f"runs of {args.calls} calls"
    )
    for concurrency, (cpu_us, rate) in result.items():
        print(f"  concurrency {concurrency:3d}: {cpu_us:8.1f} CPU µs per call, {rate:8.0f} calls/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
