"""Snooze: an override with a snooze reason quiets the same rule and drugs for the same patient
for snooze_days; any other override is recorded but snoozes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cards.common import CDC_OVERRIDE_SYSTEM, SNOOZE_3_MONTHS
from app.feedback.availability import DatabaseUnavailable
from app.feedback.models import FeedbackItem, parse_feedback
from app.feedback.snooze import drugs_key, is_snoozed
from app.feedback.store import FeedbackStore, IssuedCard

OVERRIDE_AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


SNOOZE = {"reason": {"code": "snooze-3-months", "system": CDC_OVERRIDE_SYSTEM}}


def feedback(
    card: str, outcome: str, at: datetime = OVERRIDE_AT, reason: dict[str, object] | None = SNOOZE
) -> list[FeedbackItem]:
    item: dict[str, object] = {
        "card": card,
        "outcome": outcome,
        "outcomeTimestamp": at.isoformat().replace("+00:00", "Z"),
    }
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": "s"}]
    elif reason is not None:
        item["overrideReason"] = reason
    return parse_feedback({"feedback": [item]})


@pytest.fixture
async def overridden(store: FeedbackStore) -> FeedbackStore:
    key = drugs_key(["Oxycodone", "alprazolam"])
    await store.record_issued(
        "svc",
        [
            IssuedCard("card-1", "opioid-benzodiazepine-overlap", "patient-1", key),
            IssuedCard("card-2", "taper-plan", "patient-1", "alprazolam"),
            IssuedCard("card-3", "opioid-benzodiazepine-overlap", "patient-2", key),
        ],
    )
    await store.record_feedback("svc", feedback("card-1", "overridden"))
    await store.record_feedback("svc", feedback("card-2", "accepted"))
    return store


def test_drugs_key_is_order_and_case_free() -> None:
    assert drugs_key(["Oxycodone", "alprazolam"]) == "alprazolam+oxycodone"
    assert drugs_key(["alprazolam", " OXYCODONE "]) == drugs_key(["oxycodone", "Alprazolam"])
    assert drugs_key(["alprazolam", "alprazolam", ""]) == "alprazolam"
    assert drugs_key(["alprazolam", "oxycodone", "zolpidem"]) != drugs_key(
        ["alprazolam", "oxycodone"]
    )


@pytest.mark.parametrize("later", [timedelta(0), timedelta(days=1), timedelta(days=89, hours=23)])
async def test_override_snoozes_within_window(overridden: FeedbackStore, later: timedelta) -> None:
    snoozed = await overridden.snoozed_rules("patient-1", OVERRIDE_AT + later)
    assert snoozed == {"opioid-benzodiazepine-overlap": {"alprazolam+oxycodone"}}
    assert is_snoozed(
        snoozed, "opioid-benzodiazepine-overlap", drugs_key(["alprazolam", "oxycodone"])
    )


@pytest.mark.parametrize("later", [timedelta(days=90, seconds=1), timedelta(days=400)])
async def test_snooze_ends_after_snooze_days(overridden: FeedbackStore, later: timedelta) -> None:
    assert await overridden.snoozed_rules("patient-1", OVERRIDE_AT + later) == {}


async def test_not_snoozed_before_the_override(overridden: FeedbackStore) -> None:
    assert await overridden.snoozed_rules("patient-1", OVERRIDE_AT - timedelta(days=1)) == {}


async def test_naive_now_is_taken_as_utc(overridden: FeedbackStore) -> None:
    naive = (OVERRIDE_AT + timedelta(days=1)).replace(tzinfo=None)
    assert await overridden.snoozed_rules("patient-1", naive) != {}


async def test_new_drug_changes_key_and_card_returns(overridden: FeedbackStore) -> None:
    snoozed = await overridden.snoozed_rules("patient-1", OVERRIDE_AT + timedelta(days=1))
    new_key = drugs_key(["alprazolam", "oxycodone", "morphine"])
    assert not is_snoozed(snoozed, "opioid-benzodiazepine-overlap", new_key)
    assert not is_snoozed(snoozed, "taper-plan", "alprazolam")  # accepted, not overridden


async def test_other_patient_not_snoozed(overridden: FeedbackStore) -> None:
    assert await overridden.snoozed_rules("patient-2", OVERRIDE_AT + timedelta(days=1)) == {}
    assert await overridden.snoozed_rules("nobody", OVERRIDE_AT + timedelta(days=1)) == {}


async def test_reissued_card_with_same_drugs_stays_snoozed(overridden: FeedbackStore) -> None:
    """A re-ordered drug gives a new card uuid but the same drugs key: still quiet."""
    key = drugs_key(["alprazolam", "oxycodone"])
    await overridden.record_issued(
        "svc", [IssuedCard("card-1b", "opioid-benzodiazepine-overlap", "patient-1", key)]
    )
    snoozed = await overridden.snoozed_rules("patient-1", OVERRIDE_AT + timedelta(days=10))
    assert is_snoozed(snoozed, "opioid-benzodiazepine-overlap", key)


async def test_feedback_for_unknown_card_snoozes_nothing(store: FeedbackStore) -> None:
    await store.record_feedback("svc", feedback("never-issued", "overridden"))
    assert await store.snoozed_rules("patient-1", OVERRIDE_AT + timedelta(days=1)) == {}


async def test_future_client_timestamp_does_not_extend_snooze(store: FeedbackStore) -> None:
    """outcomeTimestamp far ahead of our clock counts from when we received it."""
    await store.record_issued("svc", [IssuedCard("c", "taper-plan", "p", "alprazolam")])
    received = datetime.now(UTC)
    await store.record_feedback("svc", feedback("c", "overridden", received + timedelta(days=3650)))
    assert await store.snoozed_rules("p", received + timedelta(days=30)) == {
        "taper-plan": {"alprazolam"}
    }
    assert await store.snoozed_rules("p", received + timedelta(days=91)) == {}


async def test_snooze_days_setting_is_honoured(store: FeedbackStore) -> None:
    await store.record_issued("svc", [IssuedCard("c", "taper-plan", "p", "alprazolam")])
    await store.record_feedback("svc", feedback("c", "overridden"))
    store.settings = store.settings.model_copy(update={"snooze_days": 7})
    assert await store.snoozed_rules("p", OVERRIDE_AT + timedelta(days=6)) != {}
    assert await store.snoozed_rules("p", OVERRIDE_AT + timedelta(days=8)) == {}


def test_the_snooze_reason_is_the_cards_own() -> None:
    assert SNOOZE["reason"]["code"] == SNOOZE_3_MONTHS.code  # type: ignore[index]


@pytest.mark.parametrize(
    "reason",
    [
        None,  # the Sandbox's plain "Dismiss": overridden, no overrideReason
        {
            "reason": {
                "code": "benefits-outweigh-risks",
                "system": "urn:benzo-safety-cds:override-reason",
            }
        },
        {"userComment": "talked it over"},
        {"reason": {"code": "snooze-3-months-ish"}},
    ],
)
async def test_only_a_snooze_reason_snoozes(
    store: FeedbackStore, reason: dict[str, object] | None
) -> None:
    await store.record_issued("svc", [IssuedCard("c", "taper-plan", "p", "alprazolam")])
    assert await store.record_feedback("svc", feedback("c", "overridden", reason=reason)) == 1
    assert await store.snoozed_rules("p", OVERRIDE_AT + timedelta(days=1)) == {}
    await store.record_feedback(
        "svc", feedback("c", "overridden", OVERRIDE_AT + timedelta(hours=1))
    )
    assert await store.snoozed_rules("p", OVERRIDE_AT + timedelta(days=1)) == {
        "taper-plan": {"alprazolam"}
    }


async def test_reasons_listed_in_the_setting_snooze_too(store: FeedbackStore) -> None:
    await store.record_issued("svc", [IssuedCard("c", "taper-plan", "p", "alprazolam")])
    await store.record_feedback(
        "svc", feedback("c", "overridden", reason={"reason": {"code": "already-tapering"}})
    )
    later = OVERRIDE_AT + timedelta(days=1)
    assert await store.snoozed_rules("p", later) == {}
    store.settings = store.settings.model_copy(update={"snooze_reasons": ["already-tapering"]})
    assert await store.snoozed_rules("p", later) == {"taper-plan": {"alprazolam"}}


async def test_another_workers_override_counts_from_the_next_call(store: FeedbackStore) -> None:
    other = FeedbackStore(store.engine, store.settings)  # a second worker on the same database
    now = OVERRIDE_AT + timedelta(days=1)
    assert await store.active_snoozes("p1", now) == {}
    await other.record_issued("svc", [IssuedCard("c1", "taper-plan", "p1", "alprazolam")])
    await other.record_feedback("svc", feedback("c1", "overridden"))
    assert await store.active_snoozes("p1", now) == {"taper-plan": {"alprazolam"}}
    assert await store.active_snoozes("p2", now) == {}


async def test_lookup_fails_fast_while_the_database_is_known_down(store: FeedbackStore) -> None:
    store.availability.mark_down("OperationalError")
    with pytest.raises(DatabaseUnavailable):
        await store.active_snoozes("p1", OVERRIDE_AT)
    store.availability.retry_seconds = 0
    store.availability.mark_down("OperationalError")
    # Once the retry interval has passed, one call tries again and reopens the way.
    assert await store.active_snoozes("p1", OVERRIDE_AT) == {}
    assert store.availability.available
