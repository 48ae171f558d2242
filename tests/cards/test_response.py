"""The final list of cards: most severe first, then by rule; shared advice said once."""

from __future__ import annotations

from app.cards import RULES
from app.cards.common import NEVER_STOP, source
from app.cards.response import in_reading_order, respond, said_once
from app.models.cards import Card

ORDER = tuple(RULES)  # registry order: overlap, taper, off-ramp, geriatric, CBT-I


def card(rule: str, indicator: str, detail: str = "text") -> Card:
    return Card(
        uuid=f"uuid-{rule}",
        summary=f"{rule} summary",
        detail=detail,
        indicator=indicator,
        source=source(("Guideline", "https://example.org"), rule, rule),
    )


def rules(cards: list[Card]) -> list[str]:
    return [c.source.topic.code for c in cards if c.source.topic]


def test_indicator_first_then_registry_order() -> None:
    given = [
        card("cbti-referral", "info"),
        card("taper-plan", "warning"),
        card("geriatric-risk", "critical"),
        card("off-ramp", "info"),
        card("opioid-benzodiazepine-overlap", "warning"),
    ]
    assert rules(in_reading_order(given, ORDER)) == [
        "geriatric-risk",
        "opioid-benzodiazepine-overlap",
        "taper-plan",
        "off-ramp",
        "cbti-referral",
    ]


def test_unknown_rule_or_indicator_goes_last() -> None:
    given = [card("someone-elses", "critical"), card("taper-plan", "critical")]
    assert rules(in_reading_order(given, ORDER)) == ["taper-plan", "someone-elses"]


def test_never_stop_kept_on_the_first_card_only() -> None:
    first = card(
        "opioid-benzodiazepine-overlap",
        "critical",
        f"- **a** 1 mg/day\n\n**Do:** this.\n\n{NEVER_STOP}",
    )
    second = card(
        "taper-plan",
        "warning",
        f"- **a** 1 mg/day\n\n**Proposed taper**:\n- First step\n\n{NEVER_STOP}",
    )
    third = card("cbti-referral", "info", "CBT-I")
    out = said_once([first, second, third])
    assert out[0] == first and out[2] == third
    assert out[1].detail == "- **a** 1 mg/day\n\n**Proposed taper**:\n- First step"
    assert out[1].uuid == second.uuid and out[1].summary == second.summary


def test_advice_inside_another_line_is_left_alone() -> None:
    quoted = card("taper-plan", "warning", f"See: {NEVER_STOP}")
    out = said_once([card("off-ramp", "info", NEVER_STOP), quoted])
    assert out[1] == quoted


def test_respond_orders_then_deduplicates() -> None:
    info = card("cbti-referral", "info", f"x\n\n{NEVER_STOP}")
    critical = card("geriatric-risk", "critical", f"y\n\n{NEVER_STOP}\n\nz")
    out = respond([info, critical], ORDER)
    assert rules(out) == ["geriatric-risk", "cbti-referral"]
    assert out[0].detail == critical.detail and out[1].detail == "x"
