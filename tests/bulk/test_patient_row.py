"""One patient's result row: the course of use is the hook's episode, and summaries add up."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import orjson
import pytest

from app.bulk.patient import NoMedications, RunOptions, evaluate_patient
from app.bulk.route import ReadStats
from app.bulk.summary import Summary
from app.config import Settings
from tests.bulk.conftest import settings
from tests.normalize.builders import med_request, patient

AS_OF = date(2026, 11, 23)


def _row(resources: list[dict[str, Any]], chosen: Settings | None = None) -> dict[str, Any]:
    lines = [orjson.dumps(r) for r in resources]
    options = RunOptions(settings=chosen or settings(), date_arg=AS_OF.isoformat(), reveal_ids=True)
    row = evaluate_patient("p1", lines, NoMedications(), options, ReadStats())
    assert row is not None
    return row


def _lorazepam(rid: str, authored: str, status: str = "completed") -> dict[str, Any]:
    return med_request(
        rid, text="lorazepam 1 MG tablet", status=status, authored=authored, supply=(30, "days")
    )


# Monthly supplies: May 1 (to May 31), then a renewal, then the order in force from Aug 1.
@pytest.mark.parametrize(
    ("second", "gap_days", "since"),
    [
        ("2026-06-15", 30, "2026-05-01"),  # 15 days late: one course since May 1
        ("2026-07-15", 30, "2026-07-15"),  # 45 days late: a new course from Jul 15
        ("2026-07-15", 50, "2026-05-01"),  # ... unless the renewal gap setting allows 45 days
    ],
)
def test_bzra_days_count_from_the_first_day_of_the_episode(
    second: str, gap_days: int, since: str
) -> None:
    chosen = settings().model_copy(update={"renewal_gap_days": gap_days})
    row = _row(
        [
            patient(),
            _lorazepam("r1", "2026-05-01"),
            _lorazepam("r2", second),
            _lorazepam("r3", "2026-08-01", status="active"),
        ],
        chosen,
    )
    assert row["bzra_active"] == 1
    assert row["bzra_days"] == (AS_OF - date.fromisoformat(since)).days


def test_no_active_bzra_no_course() -> None:
    row = _row([patient(), _lorazepam("r1", "2026-05-01")])
    assert row["bzra_active"] == 0 and row["bzra_days"] == ""


def test_summaries_of_parts_add_up_to_the_summary_of_the_whole(
    local_rows: list[dict[str, Any]],
) -> None:
    rows = list(local_rows)
    random.Random(17).shuffle(rows)
    whole, left, right = Summary(), Summary(), Summary()
    for index, row in enumerate(rows):
        whole.add(row)
        (left if index % 3 else right).add(row)
    assert left.merge(right) == whole
    assert whole.patients == len(rows) and whole.cards


def test_a_resource_with_a_list_for_its_id_is_read_like_the_hook_reads_it() -> None:
    # A list is no FHIR id: not a duplicate key (the hook's gatherer only dedups string ids).
    odd = _lorazepam("r9", "2026-11-01", status="active")
    odd["id"] = ["r9", "r10"]
    row = _row([patient(), odd])
    # Before: a TypeError made it an error row. Now the order is counted unreadable, as the
    # hook's normalization counts it (a resource id must be a string).
    assert (row["error"], row["unreadable"], row["orders"]) == ("", 1, 0)
