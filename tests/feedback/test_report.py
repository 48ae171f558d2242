"""Per-rule report: issued, accepted and overridden cards and their rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.feedback.models import parse_feedback
from app.feedback.report import UNKNOWN_RULE
from app.feedback.store import FeedbackStore, IssuedCard

T0 = datetime(2024, 3, 1, tzinfo=UTC)


async def post(
    store: FeedbackStore, card: str, outcome: str, *, days: int = 0, code: str | None = None
) -> None:
    stamp = (T0 + timedelta(days=days)).isoformat()
    item: dict[str, object] = {"card": card, "outcome": outcome, "outcomeTimestamp": stamp}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s"}]
    elif code:
        item["overrideReason"] = {"reason": {"code": code}}
    await store.record_feedback("svc", parse_feedback({"feedback": [item]}))


async def test_report_counts_and_rates(store: FeedbackStore) -> None:
    await store.record_issued(
        "svc", [IssuedCard(f"tp-{i}", "taper-plan", f"p{i}", "alprazolam") for i in range(4)]
    )
    await store.record_issued(
        "svc",
        [
            IssuedCard("ob-1", "opioid-benzodiazepine-overlap", "p1", "alprazolam+oxycodone"),
            IssuedCard("ob-2", "opioid-benzodiazepine-overlap", "p2", "diazepam+morphine"),
            IssuedCard("gr-1", "geriatric-risk", "p3", "zolpidem"),
        ],
    )
    await post(store, "tp-0", "accepted")
    await post(store, "tp-0", "accepted", days=1)  # the same card accepted again counts once
    await post(store, "tp-1", "overridden", code="patient-declined")
    await post(store, "tp-2", "overridden", code="patient-declined")
    await post(store, "ob-1", "overridden", code="benefit-outweighs-risk")
    await post(store, "ob-2", "overridden")
    await post(store, "ob-2", "accepted", days=2)
    await post(store, "ghost", "overridden", code="x")

    stats = {s.rule_id: s for s in await store.report()}
    assert sorted(stats) == sorted(
        ["taper-plan", "opioid-benzodiazepine-overlap", "geriatric-risk", UNKNOWN_RULE]
    )
    tp = stats["taper-plan"]
    assert (tp.issued, tp.accepted, tp.overridden) == (4, 1, 2)
    assert tp.acceptance_rate == pytest.approx(0.25)
    assert tp.override_rate == pytest.approx(0.5)
    assert tp.override_reasons == {"patient-declined": 2}
    ob = stats["opioid-benzodiazepine-overlap"]
    # ob-2 was dismissed with no reason: counted apart from the overrides that gave one.
    assert (ob.issued, ob.accepted, ob.overridden, ob.dismissed) == (2, 1, 1, 1)
    assert ob.acceptance_rate == pytest.approx(0.5)
    assert ob.override_rate == pytest.approx(0.5)
    assert ob.override_reasons == {"benefit-outweighs-risk": 1}
    assert ob.as_dict()["dismissed"] == 1 and tp.dismissed == 0
    gr = stats["geriatric-risk"]
    assert (gr.issued, gr.accepted, gr.overridden) == (1, 0, 0)
    assert gr.acceptance_rate == 0.0 and gr.override_rate == 0.0
    unknown = stats[UNKNOWN_RULE]
    assert (unknown.issued, unknown.accepted, unknown.overridden) == (0, 0, 1)
    assert unknown.acceptance_rate is None and unknown.override_rate is None
    assert unknown.as_dict()["override_reasons"] == {"x": 1}


async def test_empty_report(store: FeedbackStore) -> None:
    assert await store.report() == []
