"""Feedback request parsing: the spec's examples pass, every bad shape is a 400."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InvalidRequest
from app.feedback.models import MAX_ITEMS, parse_feedback

# CDS Hooks 2.0, section "Feedback", verbatim.
SPEC_ACCEPTED = {
    "feedback": [
        {
            "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
            "outcomeTimestamp": "2021-12-11T10:05:31Z",
        }
    ]
}
SPEC_OVERRIDDEN = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "code": "d7ecf885",
                    "system": "https://example.com/cds-hooks/override-reason-system",
                },
                "userComment": "A comment entered by the clinician.",
            },
            "outcomeTimestamp": "2020-12-11T00:00:00Z",
        }
    ]
}


def test_spec_accepted_example() -> None:
    (item,) = parse_feedback(SPEC_ACCEPTED)
    assert item.card == "4e0a3a1e-3283-4575-ab82-028d55fe2719"
    assert item.outcome == "accepted"
    assert [s.id for s in item.acceptedSuggestions or ()] == [
        "e56e1945-20b3-4393-8503-a1a20fd73152"
    ]
    assert item.outcomeTimestamp == datetime(2021, 12, 11, 10, 5, 31, tzinfo=UTC)
    assert item.overrideReason is None


def test_spec_overridden_example() -> None:
    (item,) = parse_feedback(SPEC_OVERRIDDEN)
    assert item.outcome == "overridden"
    assert item.overrideReason is not None and item.overrideReason.reason is not None
    assert item.overrideReason.reason.code == "d7ecf885"
    assert (
        item.overrideReason.reason.system == "https://example.com/cds-hooks/override-reason-system"
    )
    assert item.overrideReason.userComment == "A comment entered by the clinician."
    assert item.outcomeTimestamp == datetime(2020, 12, 11, tzinfo=UTC)


def test_sandbox_shapes_are_accepted() -> None:
    """The Sandbox sends a reason with only a code, and extra fields are ignored."""
    body = {
        "feedback": [
            {
                "card": "c1",
                "outcome": "overridden",
                "extra": 1,
                "overrideReason": {"reason": {"code": "x"}},
                "outcomeTimestamp": "2024-05-01T12:00:00.123Z",
            }
        ],
        "hookInstance": "ignored",
    }
    (item,) = parse_feedback(body)
    assert item.overrideReason is not None and item.overrideReason.reason is not None
    assert item.overrideReason.reason.system is None
    assert item.outcomeTimestamp.microsecond == 123000


def test_overridden_without_reason_is_fine() -> None:
    body = {
        "feedback": [
            {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2024-05-01T12:00:00Z"}
        ]
    }
    assert parse_feedback(body)[0].overrideReason is None


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00-05:30", datetime(2024, 5, 1, 17, 30, tzinfo=UTC)),
        ("2024-05-01t12:00:00z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_normalize_to_utc(stamp: str, expected: datetime) -> None:
    body = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": stamp}]}
    parsed = parse_feedback(body)[0].outcomeTimestamp
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


def _item(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(SPEC_ACCEPTED["feedback"][0])
    for key, value in changes.items():
        if value is _DROP:
            item.pop(key)
        else:
            item[key] = value
    return item


_DROP = object()
SECRET = "Jane-Doe-MRN-778899"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_item(card=_DROP), "feedback.0.card"),
        (_item(card=""), "feedback.0.card"),
        (_item(card=12345), "feedback.0.card"),
        (_item(outcome="ignored"), "feedback.0.outcome"),
        (_item(outcome=_DROP), "feedback.0.outcome"),
        (_item(acceptedSuggestions=_DROP), "feedback.0"),
        (_item(acceptedSuggestions=[]), "feedback.0"),
        (_item(acceptedSuggestions=[{}]), "feedback.0.acceptedSuggestions.0.id"),
        (_item(outcomeTimestamp=_DROP), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp="yesterday"), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp="2021-12-11T10:05:31"), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp="2021-12-11"), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp="2021-02-30T10:05:31Z"), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp="1639217131"), "feedback.0.outcomeTimestamp"),
        (_item(outcomeTimestamp=1639217131), "feedback.0.outcomeTimestamp"),
        (_item(outcome="overridden", overrideReason={}), "feedback.0.overrideReason"),
        (
            _item(outcome="overridden", overrideReason={"userComment": ""}),
            "feedback.0.overrideReason",
        ),
        (
            _item(outcome="overridden", overrideReason={"reason": {"system": "s"}}),
            "feedback.0.overrideReason.reason.code",
        ),
    ],
)
def test_invalid_items_are_rejected(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_feedback({"feedback": [body]})
    assert caught.value.status_code == 400
    assert any(d.startswith(f"{field}:") for d in caught.value.details), caught.value.details


@pytest.mark.parametrize(
    "body",
    [
        {"feedback": {"card": "c"}},
        {"feedback": "nope"},
        {"feedback": []},
        {"feedback": None},
        {},
        [],
        "feedback",
        None,
    ],
)
def test_invalid_envelopes_are_rejected(body: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_feedback(body)
    assert caught.value.details
    assert all(":" in d for d in caught.value.details)


def test_too_many_items_are_rejected() -> None:
    item = SPEC_ACCEPTED["feedback"][0]
    assert len(parse_feedback({"feedback": [item] * MAX_ITEMS})) == MAX_ITEMS
    with pytest.raises(InvalidRequest):
        parse_feedback({"feedback": [item] * (MAX_ITEMS + 1)})


def test_error_details_do_not_echo_input() -> None:
    bad = {
        "feedback": [
            {"card": "c", "outcome": SECRET, "outcomeTimestamp": SECRET},
            {
                "card": SECRET * 50,
                "outcome": "overridden",
                "outcomeTimestamp": "2024-01-01T00:00:00Z",
                "overrideReason": {"reason": {"code": SECRET, "system": 7}},
            },
        ]
    }
    with pytest.raises(InvalidRequest) as caught:
        parse_feedback(bad)
    text = caught.value.message + " ".join(caught.value.details) + str(caught.value.body())
    assert len(caught.value.details) >= 4
    assert SECRET not in text


def test_one_bad_item_fails_the_batch_naming_its_index() -> None:
    good = SPEC_ACCEPTED["feedback"][0]
    with pytest.raises(InvalidRequest) as caught:
        parse_feedback({"feedback": [good, good, _item(outcome="maybe")]})
    assert all(d.startswith("feedback.2.") for d in caught.value.details)
