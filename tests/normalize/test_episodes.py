"""Continuous use across renewals: which orders join one episode (app/normalize/episodes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.normalize.episodes import with_episodes
from app.record import DrugClass, MedicationUse

TODAY = date(2024, 6, 1)
GAP = 30


def order(
    ref: str,
    *,
    start_ago: int,
    end_ago: int | None,
    status: str = "completed",
    ingredient: str = "clonazepam",
    active: bool = False,
    draft: bool = False,
    injectable: bool = False,
) -> MedicationUse:
    return MedicationUse(
        ref=f"MedicationRequest/{ref}",
        name=ingredient,
        drug_class=DrugClass.BENZODIAZEPINE,
        ingredient=ingredient,
        start=TODAY - timedelta(days=start_ago),
        end=None if end_ago is None else TODAY - timedelta(days=end_ago),
        status=status,
        is_active=active,
        is_draft=draft,
        is_injectable=injectable,
    )


def starts(meds: list[MedicationUse]) -> dict[str, int | None]:
    """Days before TODAY each order's episode began (None: the order starts its own)."""
    return {
        m.ref.split("/")[1]: None if m.episode_start is None else (TODAY - m.episode_start).days
        for m in with_episodes(meds, TODAY, GAP)
    }


def test_monthly_renewals_and_the_active_order_are_one_episode() -> None:
    meds = [
        order("m3", start_ago=90, end_ago=60),
        order("m2", start_ago=60, end_ago=30),
        order("m1", start_ago=30, end_ago=0),
        order("now", start_ago=5, end_ago=None, status="active", active=True),
    ]
    assert starts(meds) == {"m3": None, "m2": 90, "m1": 90, "now": 90}


@pytest.mark.parametrize(("gap", "joined"), [(0, True), (30, True), (31, False)])
def test_the_gap_between_supplies_decides(gap: int, joined: bool) -> None:
    meds = [
        order("old", start_ago=100 + gap, end_ago=70 + gap),
        order("new", start_ago=70, end_ago=None, status="active", active=True),
    ]
    assert starts(meds)["new"] == (100 + gap if joined else None)


def test_an_active_order_covers_today_whatever_its_supply_says() -> None:
    """Active since 200 days with a supply that 'ended' 170 days ago; a draft today joins it."""
    meds = [
        order("active", start_ago=200, end_ago=170, status="active", active=True),
        order("draft", start_ago=0, end_ago=-30, status="draft", draft=True),
    ]
    assert starts(meds) == {"active": None, "draft": 200}


def test_stale_active_orders_cover_only_their_supply() -> None:
    stale = order("stale", start_ago=900, end_ago=None, status="active", active=False)
    meds = [stale, order("draft", start_ago=0, end_ago=-30, status="draft", draft=True)]
    assert starts(meds) == {"stale": None, "draft": None}


@pytest.mark.parametrize("kind", ["cancelled", "unknown", "injectable", "other ingredient"])
def test_orders_that_document_no_use_do_not_join(kind: str) -> None:
    first = order("first", start_ago=60, end_ago=30)
    if kind == "injectable":
        first = replace(first, is_injectable=True)
    elif kind == "other ingredient":
        first = replace(first, ingredient="lorazepam")
    else:
        first = replace(first, status=kind)
    meds = [first, order("now", start_ago=25, end_ago=None, status="active", active=True)]
    assert starts(meds)["now"] is None


def test_order_without_a_start_is_left_alone() -> None:
    undated = replace(order("x", start_ago=0, end_ago=None), start=None)
    assert with_episodes([undated], TODAY, GAP) == [undated]
