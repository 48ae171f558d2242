"""Which orders are in force, through HTTP (issue #10 item 2; CDC Opioid CDS "Active ... Rx").

Each test sends a hook request shaped like an EHR's (renewals, drafts without authoredOn,
categories, doNotPerform, plan statuses) and checks the cards that come back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.api.ehr_shapes import (
    ANXIETY,
    INSOMNIA,
    SERVICE,
    cards_by_rule,
    care_plan,
    day,
    hook,
    med_request,
    renewals,
    service_request,
)

OVERLAP, TAPER, OFF_RAMP, CBTI = (
    "opioid-benzodiazepine-overlap",
    "taper-plan",
    "off-ramp",
    "cbti-referral",
)
Client = Callable[..., TestClient]


def post(client: TestClient, body: dict) -> dict[str, dict]:
    return cards_by_rule(client.post(SERVICE[body["hook"]], json=body))


# --- active orders beat their supply estimate ---------------------------------------------


def test_active_clonazepam_past_its_supply_overlaps_with_new_oxycodone(client: TestClient) -> None:
    """Long-term clonazepam whose 30-day supply ran out 30 days ago, still active, + a draft."""
    clonazepam = med_request("mr-clonazepam", "clonazepam", days_ago=60, supply_days=30)
    draft = med_request(
        "draft-oxycodone", "oxycodone", status="draft", days_ago=None, supply_days=5, prn=True
    )
    cards = post(
        client, hook("order-select", meds=[clonazepam], drafts=[draft], conditions=[ANXIETY])
    )
    assert OVERLAP in cards
    detail = cards[OVERLAP]["detail"]
    assert "**clonazepam**" in detail and "**oxycodone**" in detail
    assert "supply ended" in detail  # the clinician sees the estimate ran out


@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_finished_orders_are_bounded_by_their_supply(client: TestClient, status: str) -> None:
    clonazepam = med_request(
        "mr-clonazepam", "clonazepam", status=status, days_ago=60, supply_days=30
    )
    draft = med_request(
        "draft-oxycodone", "oxycodone", status="draft", days_ago=None, supply_days=5, prn=True
    )
    assert OVERLAP not in post(client, hook("order-select", meds=[clonazepam], drafts=[draft]))


def test_stale_active_order_is_not_in_force(client: TestClient) -> None:
    old = med_request("mr-clonazepam", "clonazepam", days_ago=800)  # > 730 days: CDC window
    draft = med_request("draft-oxycodone", "oxycodone", status="draft", days_ago=None)
    assert OVERLAP not in post(client, hook("order-select", meds=[old], drafts=[draft]))


# --- continuous use across renewals -------------------------------------------------------


def test_three_monthly_renewals_plus_current_order_are_long_term(client: TestClient) -> None:
    cards = post(client, hook(meds=renewals("alprazolam", months=3), conditions=[ANXIETY]))
    assert TAPER in cards
    detail = cards[TAPER]["detail"]
    # Counted from the first renewal, not the last order (authored 5 days ago).
    assert f"since {day(90)} (90 days, across renewals)" in detail


def test_a_gap_longer_than_the_renewal_gap_starts_a_new_episode(make_client: Client) -> None:
    body = hook(meds=renewals("alprazolam", months=3, gap_days=40), conditions=[ANXIETY])
    assert TAPER not in post(make_client(), body)  # the current order alone is 5 days old
    # A wider grace period (setting) joins them again.
    assert TAPER in post(make_client(renewal_gap_days=45), body)


def test_draft_renewal_of_a_completed_course_is_not_a_new_start(client: TestClient) -> None:
    """Three completed months of lorazepam, then a renewal drafted today: taper, not off-ramp."""
    history = [
        med_request(f"mr-lorazepam-{n}", "lorazepam", status="completed", days_ago=n * 30)
        for n in (3, 2, 1)
    ]
    draft = med_request(
        "draft-lorazepam", "lorazepam", status="draft", days_ago=None, supply_days=30, repeats=1
    )
    cards = post(client, hook("order-sign", meds=history, drafts=[draft], conditions=[ANXIETY]))
    assert TAPER in cards and OFF_RAMP not in cards


# --- drafts without authoredOn ------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "flagged"),
    [
        ({"supply_days": 30, "repeats": 1}, "60 days"),  # supply x (repeats + 1)
        ({"supply_days": None, "repeats": None, "bounds_days": 60}, "60 days"),
        ({"supply_days": None, "repeats": None, "bounds": (0, 60)}, "60 days"),
        ({"supply_days": None, "repeats": None, "validity": (None, 60)}, "60 days"),
        ({"supply_days": None, "repeats": None}, "no stop date or duration"),
        # Epic-style: a 14-day supply inside a 6-month validity period is a 14-day order.
        ({"supply_days": 14, "repeats": 0, "validity": (0, 180)}, None),
    ],
)
def test_sixty_day_lorazepam_draft_gets_the_off_ramp(
    client: TestClient, shape: dict, flagged: str | None
) -> None:
    draft = med_request("draft-lorazepam", "lorazepam", status="draft", days_ago=None, **shape)
    cards = post(client, hook("order-select", drafts=[draft], conditions=[ANXIETY]))
    if flagged is None:
        assert OFF_RAMP not in cards
    else:
        assert flagged in cards[OFF_RAMP]["detail"]


# --- doNotPerform and category --------------------------------------------------------------


def test_do_not_perform_order_is_not_a_use(client: TestClient) -> None:
    alprazolam = med_request("mr-alprazolam", "alprazolam", days_ago=10)
    not_oxycodone = med_request("mr-no-oxycodone", "oxycodone", days_ago=3, doNotPerform=True)
    assert OVERLAP not in post(client, hook(meds=[alprazolam, not_oxycodone]))
    del not_oxycodone["doNotPerform"]
    assert OVERLAP in post(client, hook(meds=[alprazolam, not_oxycodone]))


@pytest.mark.parametrize(
    ("category", "fires"),
    [
        ("inpatient", False),
        ("discharge", True),
        ("community", True),
        ("outpatient", True),
        (None, True),  # no category: outpatient use (README "Which orders count")
    ],
)
def test_inpatient_orders_are_not_outpatient_use(
    client: TestClient, category: str | None, fires: bool
) -> None:
    oxycodone = med_request("mr-oxycodone", "oxycodone", days_ago=1, category=category, prn=True)
    alprazolam = med_request("mr-alprazolam", "alprazolam", days_ago=120, category=category)
    cards = post(client, hook(meds=[oxycodone, alprazolam], conditions=[ANXIETY]))
    assert (OVERLAP in cards) is fires
    assert (TAPER in cards) is fires


def test_inpatient_draft_gets_no_off_ramp(client: TestClient) -> None:
    draft = med_request(
        "draft-lorazepam",
        "lorazepam",
        status="draft",
        days_ago=None,
        supply_days=None,
        repeats=None,
        category="inpatient",
    )
    assert OFF_RAMP not in post(client, hook("order-select", drafts=[draft]))


# --- plan evidence respects status --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "planned"),
    [
        ("active", True),
        ("on-hold", True),
        ("revoked", False),
        ("entered-in-error", False),
        ("cancelled", False),
        ("completed", False),
    ],
)
def test_taper_careplan_status(client: TestClient, status: str, planned: bool) -> None:
    plan = care_plan("cp-taper", "Alprazolam taper", status=status)
    cards = post(
        client, hook(meds=renewals("alprazolam", months=3), conditions=[ANXIETY], care_plans=[plan])
    )
    assert (TAPER not in cards) is planned


@pytest.mark.parametrize(
    ("status", "referred"),
    [
        ("active", True),
        ("completed", True),
        ("revoked", False),
        ("entered-in-error", False),
        ("cancelled", False),
    ],
)
def test_cbti_referral_status(client: TestClient, status: str, referred: bool) -> None:
    referral = service_request(
        "sr-cbti", "Referral to CBT-I (cognitive behavioral therapy for insomnia)", status=status
    )
    cards = post(
        client,
        hook(
            meds=[med_request("mr-zolpidem", "zolpidem", days_ago=10)],
            conditions=[INSOMNIA],
            service_requests=[referral],
        ),
    )
    assert (CBTI not in cards) is referred


def test_draft_referral_being_ordered_now_counts(client: TestClient) -> None:
    zolpidem = med_request(
        "draft-zolpidem", "zolpidem", status="draft", days_ago=None, supply_days=14
    )
    referral = service_request(
        "draft-cbti", "Ambulatory referral to CBT-I", status="draft", days_ago=None
    )
    for name in ("order-select", "order-sign"):
        without = post(client, hook(name, drafts=[zolpidem], conditions=[INSOMNIA]))
        assert CBTI in without
        # In order-select the referral is in draftOrders but not among the selections.
        body = hook(
            name,
            drafts=[zolpidem, referral],
            conditions=[INSOMNIA],
            selections=["MedicationRequest/draft-zolpidem"] if name == "order-select" else None,
        )
        assert CBTI not in post(client, body)


def test_draft_taper_careplan_being_signed_counts(client: TestClient) -> None:
    renewal = med_request(
        "draft-alprazolam", "alprazolam", status="draft", days_ago=None, supply_days=30
    )
    plan = care_plan("draft-taper", "Alprazolam taper", status="draft")
    meds = renewals("alprazolam", months=3)
    assert TAPER in post(
        client, hook("order-sign", meds=meds, drafts=[renewal], conditions=[ANXIETY])
    )
    assert TAPER not in post(
        client, hook("order-sign", meds=meds, drafts=[renewal, plan], conditions=[ANXIETY])
    )
