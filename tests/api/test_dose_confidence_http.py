"""Through HTTP: a computed amount is shown as the patient's dose only when read exactly.

PRN orders (asNeededBoolean), ranges (doseRange) and sigs the reader cannot total reach the
cards as an as-needed maximum, a range or unknown (app/normalize/sig); the cards then say what
the order reads, ask to confirm, and compute no taper schedule.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.ehr_shapes import ANXIETY, SERVICE, cards_by_rule, hook, med_request

TAPER, OVERLAP = "taper-plan", "opioid-benzodiazepine-overlap"


def _taper_detail(client: TestClient, order: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cards = cards_by_rule(
        client.post(SERVICE["patient-view"], json=hook(meds=[order], conditions=[ANXIETY]))
    )
    card = cards[TAPER]
    plans = [
        a["resource"]
        for s in card.get("suggestions", [])
        for a in s["actions"]
        if a.get("resource", {}).get("resourceType") == "CarePlan"
    ]
    return card["detail"], plans[0]


def _no_schedule(detail: str, plan: dict[str, Any]) -> None:
    assert "Today's dose" not in detail
    assert "confirm the total daily dose first" in detail
    first = plan["activity"][0]["detail"]
    assert first["description"].startswith("Confirm today's total daily dose")
    assert all("dailyAmount" not in a["detail"] for a in plan["activity"])


def test_prn_benzodiazepine_gets_no_computed_taper(client: TestClient) -> None:
    lorazepam = med_request(
        "mr-lorazepam", "lorazepam", days_ago=120, prn=True, supply_days=90, repeats=1
    )
    detail, plan = _taper_detail(client, lorazepam)
    _no_schedule(detail, plan)
    assert "as needed; confirm actual use" in detail


def test_dose_range_is_shown_as_the_range(client: TestClient) -> None:
    lorazepam = med_request("mr-lorazepam", "lorazepam", days_ago=120)
    dosage = lorazepam["dosageInstruction"][0]
    dosage["text"] = "Take 1-2 tablets by mouth 2 (two) times daily."
    dosage["doseAndRate"] = [
        {
            "doseRange": {
                "low": {"value": 1, "unit": "tablet"},
                "high": {"value": 2, "unit": "tablet"},
            }
        }
    ]
    detail, plan = _taper_detail(client, lorazepam)
    _no_schedule(detail, plan)
    assert "2-4 mg/day (a range); confirm the total daily dose" in detail


def test_unclear_sig_says_what_was_read(client: TestClient) -> None:
    lorazepam = med_request("mr-lorazepam", "lorazepam", days_ago=120)
    lorazepam["dosageInstruction"] = [{"text": "Take as directed."}]
    detail, plan = _taper_detail(client, lorazepam)
    _no_schedule(detail, plan)
    assert "Take as directed" in detail
    assert "total daily dose not clear from the order: confirm it" in detail


def test_prn_opioid_mme_is_an_upper_bound(client: TestClient) -> None:
    oxycodone = med_request("mr-oxycodone", "oxycodone", days_ago=3, prn=True)
    alprazolam = med_request("mr-alprazolam", "alprazolam", days_ago=10)
    cards = cards_by_rule(
        client.post(SERVICE["patient-view"], json=hook(meds=[oxycodone, alprazolam]))
    )
    detail = cards[OVERLAP]["detail"]
    # One opioid: its line carries the MME, "up to" because a PRN order allows at most that.
    [line] = [x for x in detail.splitlines() if x.startswith("- **oxycodone**")]
    assert "up to 20 mg/day as needed; confirm actual use (up to 30 MME/day)" in line
