"""`benzo-cds feedback-report`: acceptance and override rates per rule from the feedback store."""

from __future__ import annotations

import json

from app.config import get_settings
from app.feedback.db import make_engine
from app.feedback.store import FeedbackStore


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


async def run_report(*, as_json: bool = False) -> int:
    settings = get_settings()
    engine = make_engine(settings)
    try:
        store = FeedbackStore(engine, settings)
        await store.init()
        stats = await store.report()
    finally:
        await engine.dispose()
    if as_json:
        print(json.dumps([s.as_dict() for s in stats], indent=2))
        return 0
    if not stats:
        print("No cards issued and no feedback stored yet.")
        return 0
    print(f"{'rule':<32} {'issued':>7} {'accepted':>9} {'overridden':>11} {'accept %':>9} "
          f"{'override %':>11} {'dismissed':>10}  top override reasons")
    for s in stats:
        reasons = ", ".join(f"{code} ({n})" for code, n in
                            sorted(s.override_reasons.items(), key=lambda kv: -kv[1])[:3])
        print(f"{s.rule_id:<32} {s.issued:>7} {s.accepted:>9} {s.overridden:>11} "
              f"{_pct(s.acceptance_rate):>9} {_pct(s.override_rate):>11} {s.dismissed:>10}  "
              f"{reasons or '-'}")
    print("dismissed: overridden with no reason (a plain Dismiss); recorded, snoozes nothing.")
    return 0
