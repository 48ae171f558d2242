"""Snooze through HTTP: an overridden card stays quiet until the situation or the window changes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.config import DEV_HASH_KEY
from tests.conftest import load_fixture

PV = "benzo-safety-patient-view"
OVERLAP = "opioid-benzodiazepine-overlap"
SNOOZE_REASON = {
    "code": "snooze-3-months",
    "system": "http://example.org/benzo-safety-cds/override-reason",
    "display": "Snooze for 3 months",
}

ZOLPIDEM: dict[str, Any] = {
    "fullUrl": "https://fhir.example.org/r4/MedicationRequest/mr-dx-zolpidem",
    "resource": {
        "resourceType": "MedicationRequest",
        "id": "mr-dx-zolpidem",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "854873",
                    "display": "zolpidem tartrate 10 MG Oral Tablet",
                }
            ]
        },
        "subject": {"reference": "Patient/pt-overlap"},
        "authoredOn": "2026-11-10",
        "dosageInstruction": [
            {
                "text": "10 mg by mouth at bedtime",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}],
            }
        ],
    },
}


def _overlap_request(extra_drug: bool = False) -> dict[str, Any]:
    body = load_fixture("hooks/patient-view-overlap.json")
    if extra_drug:
        body = copy.deepcopy(body)
        body["prefetch"]["medications"]["entry"].append(ZOLPIDEM)
    return body


def _cards(client: TestClient, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = client.post(f"/cds-services/{PV}", json=body)
    assert response.status_code == 200, response.text
    return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _feedback(client: TestClient, item: dict[str, Any]) -> None:
    response = client.post(f"/cds-services/{PV}/feedback", json={"feedback": [item]})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "stored": 1}


def _override(client: TestClient, card: dict[str, Any], when: datetime | None = None) -> None:
    _feedback(
        client,
        {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": SNOOZE_REASON},
            "outcomeTimestamp": _stamp(when or datetime.now(UTC)),
        },
    )


def test_override_snoozes_until_the_situation_changes(
    make_client: Callable[..., TestClient], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    client = make_client()
    first = _cards(client, _overlap_request())
    assert set(first) == {OVERLAP, "taper-plan"}
    _override(client, first[OVERLAP])

    again = _cards(client, _overlap_request())
    assert set(again) == {"taper-plan"}
    # The same card; the "never stop abruptly" advice the snoozed overlap card carried for the
    # response now comes with the taper card, the first card shown (app/cards/response.py).
    never_stop = "**Never stop abruptly**"
    assert (
        never_stop in first[OVERLAP]["detail"] and never_stop not in first["taper-plan"]["detail"]
    )
    assert never_stop in again["taper-plan"]["detail"]
    assert {k: v for k, v in again["taper-plan"].items() if k != "detail"} == {
        k: v for k, v in first["taper-plan"].items() if k != "detail"
    }

    # A new CNS-active drug joins: a different situation, so the overlap card is back.
    changed = _cards(client, _overlap_request(extra_drug=True))
    assert OVERLAP in changed and "zolpidem" in changed[OVERLAP]["detail"].lower()

    # With no snooze window the original situation shows the card again (same database).
    no_window = make_client(snooze_days=0)
    assert OVERLAP in _cards(no_window, _overlap_request())

    # The issued_cards table keys patients by HMAC, never by the raw id.
    db = sqlite3.connect(tmp_path / "test.db")
    try:
        keys = {row[0] for row in db.execute("SELECT patient_key FROM issued_cards")}
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    expected = hmac.new(DEV_HASH_KEY.encode(), b"pt-overlap", hashlib.sha256).hexdigest()
    assert keys == {expected}
    assert "pt-overlap" not in dump and "Marsh" not in dump

    # The report, as a subprocess on the same database, shows the override.
    result = run_cli("feedback-report", db_path=tmp_path / "test.db")
    assert result.returncode == 0, result.stderr
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith(OVERLAP))
    # issued (original + the zolpidem variant), silent, accepted, overridden.
    assert row[1:5] == ["2", "0", "0", "1"]
    assert "snooze-3-months (1)" in result.stdout
    as_json = run_cli("feedback-report", "--json", db_path=tmp_path / "test.db")
    stats = {s["rule_id"]: s for s in json.loads(as_json.stdout)}
    assert stats[OVERLAP]["overridden"] == 1 and stats[OVERLAP]["override_rate"] == 0.5
    assert stats["taper-plan"]["overridden"] == 0 and stats["taper-plan"]["issued"] == 1


def test_old_override_has_expired(make_client: Callable[..., TestClient]) -> None:
    client = make_client(snooze_days=30)
    first = _cards(client, _overlap_request())
    _override(client, first[OVERLAP], datetime.now(UTC) - timedelta(days=31))
    assert OVERLAP in _cards(client, _overlap_request())
    # The same stored override falls inside a longer window.
    assert OVERLAP not in _cards(make_client(snooze_days=60), _overlap_request())


def test_accepted_card_does_not_snooze(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    first = _cards(client, _overlap_request())
    card = first[OVERLAP]
    _feedback(
        client,
        {
            "card": card["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": _stamp(datetime.now(UTC)),
        },
    )
    assert _cards(client, _overlap_request()) == first


def test_snooze_is_per_patient(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    first = _cards(client, _overlap_request())
    _override(client, first[OVERLAP])
    other = json.loads(json.dumps(_overlap_request()).replace("pt-overlap", "pt-other"))
    assert OVERLAP in _cards(client, other)


def test_only_the_snooze_reason_silences_a_card(
    make_client: Callable[..., TestClient], tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    client = make_client()
    first = _cards(client, _overlap_request())
    card = first[OVERLAP]
    start = datetime.now(UTC) - timedelta(minutes=5)
    # What the CDS Hooks Sandbox sends for its plain "Dismiss" (captured on the wire): no
    # overrideReason at all. Stored, and the card keeps coming.
    _feedback(
        client, {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": _stamp(start)}
    )
    assert _cards(client, _overlap_request()) == first
    # A reason other than the snooze reason is recorded, and snoozes nothing either.
    _feedback(
        client,
        {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "code": "benefits-outweigh-risks",
                    "system": "urn:benzo-safety-cds:override-reason",
                }
            },
            "outcomeTimestamp": _stamp(start + timedelta(minutes=1)),
        },
    )
    assert OVERLAP in _cards(client, _overlap_request())
    # A deployment may list more snoozing reasons.
    assert OVERLAP not in _cards(
        make_client(snooze_reasons="benefits-outweigh-risks"), _overlap_request()
    )
    # The card's own snooze reason silences it.
    _override(client, card, start + timedelta(minutes=2))
    assert set(_cards(client, _overlap_request())) == {"taper-plan"}

    as_json = run_cli("feedback-report", "--json", db_path=tmp_path / "test.db")
    assert as_json.returncode == 0, as_json.stderr
    stats = {s["rule_id"]: s for s in json.loads(as_json.stdout)}
    assert (stats[OVERLAP]["dismissed"], stats[OVERLAP]["overridden"]) == (1, 1)
    table = run_cli("feedback-report", db_path=tmp_path / "test.db").stdout
    assert table.startswith("Feedback store: ")  # which database it read
    assert "dismissed" in table.splitlines()[1]
    row = next(line.split() for line in table.splitlines() if line.startswith(OVERLAP))
    # rule, issued, silent, accepted, overridden, accept %, override %, dismissed
    assert row[4] == "1" and row[7] == "1"


def test_geriatric_card_stops_pointing_to_a_snoozed_taper_card(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    falls = load_fixture("hooks/patient-view-geriatric-falls.json")
    first = _cards(client, falls)
    assert "see the taper-plan card" in first["geriatric-risk"]["detail"]
    _override(client, first["taper-plan"])
    later = _cards(client, falls)
    assert "taper-plan" not in later
    detail = later["geriatric-risk"]["detail"]
    assert "taper-plan card" not in detail
    assert "**Offer a slow taper** (Pottie 2018: offer to all adults 65+)." in detail
    # The clinician declined the taper: the geriatric card does not bring its CarePlan back.
    assert not later["geriatric-risk"].get("suggestions")


def test_feedback_right_after_the_answer_snoozes_the_next_call(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """The issued card is still queued (a 1 s write delay) when the override arrives: the
    feedback writes it first, so the very next call is quiet and the report counts the card."""
    db_path = tmp_path / "queued.db"
    client = make_client(card_write_delay_ms=1000.0, database_url=f"sqlite+aiosqlite:///{db_path}")
    card = _cards(client, _overlap_request())[OVERLAP]
    _override(client, card)
    assert OVERLAP not in _cards(client, _overlap_request())
    db = sqlite3.connect(db_path)
    try:
        issued = db.execute(
            "SELECT rule_id FROM issued_cards WHERE card_uuid = ?", (card["uuid"],)
        ).fetchall()
    finally:
        db.close()
    assert issued == [(OVERLAP,)]


def test_shutdown_writes_queued_cards(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    db_path = tmp_path / "shutdown.db"
    client = make_client(card_write_delay_ms=1000.0, database_url=f"sqlite+aiosqlite:///{db_path}")
    shown = _cards(client, _overlap_request())
    client.__exit__(None, None, None)  # the app's shutdown, well before the 1 s timer
    db = sqlite3.connect(db_path)
    try:
        stored = {row[0] for row in db.execute("SELECT card_uuid FROM issued_cards")}
    finally:
        db.close()
    assert stored == {c["uuid"] for c in shown.values()}
