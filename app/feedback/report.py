"""Per-rule feedback statistics: how often each card is accepted or overridden."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.feedback.db import feedback_table, issued_cards_table
from app.feedback.silent import silent_counts

UNKNOWN_RULE = "unknown"  # feedback for a card this service has no issuance record of


@dataclass(frozen=True)
class RuleStats:
    """Counts are distinct cards; rates are over cards issued (None when none were issued).

    `overridden` counts overrides that gave a reason (coded or typed); `dismissed` counts bare
    dismissals (overridden with no reason, the Sandbox's plain "Dismiss"), which snooze nothing.
    """

    rule_id: str
    issued: int
    accepted: int
    overridden: int
    override_reasons: dict[str, int] = field(default_factory=dict)
    dismissed: int = 0
    silent: int = 0  # distinct cards of the rule in silent mode: evaluated, never shown

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.issued if self.issued else None

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.issued if self.issued else None

    def as_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "issued": self.issued,
            "accepted": self.accepted,
            "overridden": self.overridden,
            "dismissed": self.dismissed,
            "acceptance_rate": self.acceptance_rate,
            "override_rate": self.override_rate,
            "override_reasons": dict(self.override_reasons),
            "silent": self.silent,
        }


async def rule_report(engine: AsyncEngine) -> list[RuleStats]:
    """One RuleStats per rule seen in issued cards or feedback, sorted by rule id."""
    fb, issued = feedback_table, issued_cards_table
    rule = func.coalesce(issued.c.rule_id, literal(UNKNOWN_RULE)).label("rule")
    bare = and_(
        fb.c.outcome == "overridden", fb.c.override_code.is_(None), fb.c.override_comment.is_(None)
    )
    kind = case((bare, literal("dismissed")), else_=fb.c.outcome).label("kind")
    issued_q = select(issued.c.rule_id, func.count()).group_by(issued.c.rule_id)
    outcome_q = (
        select(rule, kind, func.count(distinct(fb.c.card_uuid)))
        .select_from(fb.outerjoin(issued, fb.c.card_uuid == issued.c.card_uuid))
        .group_by(rule, kind)
    )
    reason_q = (
        select(rule, fb.c.override_code, func.count())
        .select_from(fb.outerjoin(issued, fb.c.card_uuid == issued.c.card_uuid))
        .where(fb.c.outcome == "overridden", fb.c.override_code.is_not(None))
        .group_by(rule, fb.c.override_code)
    )
    async with engine.connect() as conn:
        issued_rows = (await conn.execute(issued_q)).all()
        outcome_rows = (await conn.execute(outcome_q)).all()
        reason_rows = (await conn.execute(reason_q)).all()
    silent = await silent_counts(engine)

    issued_by_rule: dict[str, int] = {row[0]: row[1] for row in issued_rows}
    outcomes: dict[tuple[str, str], int] = {(r, o): n for r, o, n in outcome_rows}
    reasons: dict[str, dict[str, int]] = {}
    for rule_id, code, count in reason_rows:
        reasons.setdefault(rule_id, {})[code] = count
    rules = sorted(set(issued_by_rule) | {r for r, _ in outcomes} | set(silent))
    return [
        RuleStats(
            rule_id=r,
            issued=issued_by_rule.get(r, 0),
            accepted=outcomes.get((r, "accepted"), 0),
            overridden=outcomes.get((r, "overridden"), 0),
            override_reasons=reasons.get(r, {}),
            dismissed=outcomes.get((r, "dismissed"), 0),
            silent=silent.get(r, 0),
        )
        for r in rules
    ]
