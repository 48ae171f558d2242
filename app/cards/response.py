"""The response as a clinician reads it: most severe first, and each piece of advice once.

Runs on the final list, after snoozes and rule modes have dropped cards
(app/hooks/evaluate.py), so the advice kept is on a card that is shown. Repeated advice is
removed here rather than by rules that know what else fired: whether a card is shown is
decided after the rules run, and a rule cannot know it. (Where another card changes what a
rule offers, not only what it says, the rule asks: the geriatric card points to the taper-plan
card and leaves the CarePlan to it.)
"""

from __future__ import annotations

from collections.abc import Sequence

from app.cards.common import NEVER_STOP, SEE_TAPER_CARD
from app.cards.taper_plan import RULE_ID as RULE_TAPER
from app.models.cards import Card

# CDS Hooks 2.0 indicators, most urgent first.
INDICATOR_ORDER = {"critical": 0, "warning": 1, "info": 2}
# Advice that several cards give and one response should give once (a whole line of detail).
SAID_ONCE = (NEVER_STOP,)


def _rule_of(card: Card) -> str:
    return card.source.topic.code if card.source.topic else ""


def in_reading_order(cards: Sequence[Card], rule_ids: Sequence[str]) -> list[Card]:
    """By indicator (critical, warning, info), then by the rule's place in the registry."""
    rank = {rule: i for i, rule in enumerate(rule_ids)}
    return sorted(
        cards,
        key=lambda c: (
            INDICATOR_ORDER.get(c.indicator, len(INDICATOR_ORDER)),
            rank.get(_rule_of(c), len(rank)),
        ),
    )


def _without(detail: str, line: str) -> str:
    """``detail`` without ``line`` and the blank line that set it apart."""
    kept: list[str] = []
    for text in detail.split("\n"):
        if text == line:
            if kept and kept[-1] == "":
                kept.pop()
            continue
        kept.append(text)
    return "\n".join(kept).strip("\n")


def said_once(cards: Sequence[Card]) -> list[Card]:
    """Each line of SAID_ONCE stays on the first card that says it and leaves the others."""
    said: set[str] = set()
    out: list[Card] = []
    for card in cards:
        detail = card.detail or ""
        lines = set(detail.split("\n"))
        for advice in SAID_ONCE:
            if advice in lines:
                if advice in said:
                    detail = _without(detail, advice)
                said.add(advice)
        out.append(
            card if detail == (card.detail or "") else card.model_copy(update={"detail": detail})
        )
    return out


def pointers_to_shown(cards: Sequence[Card]) -> list[Card]:
    """No card points to a taper-plan card the clinician will not see (one snoozed)."""
    if any(_rule_of(card) == RULE_TAPER for card in cards):
        return list(cards)
    return [
        card.model_copy(update={"detail": card.detail.replace(SEE_TAPER_CARD, ".")})
        if card.detail and SEE_TAPER_CARD in card.detail
        else card
        for card in cards
    ]


def respond(cards: Sequence[Card], rule_ids: Sequence[str]) -> list[Card]:
    """The final list: reading order, then repeated advice and dangling pointers removed."""
    return said_once(pointers_to_shown(in_reading_order(cards, rule_ids)))
