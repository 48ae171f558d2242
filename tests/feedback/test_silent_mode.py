"""Rule modes through HTTP: a silent rule is evaluated, counted, logged and stored, never shown."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.api.routes import RULE_MODES_EXTENSION
from app.config import ALL_RULES, Settings
from tests.conftest import load_fixture
from tests.observability.metrics_text import sample

PV = "benzo-safety-patient-view"
GERIATRIC = "geriatric-risk"
TAPER = "taper-plan"
FALLS = "hooks/patient-view-geriatric-falls.json"


def _topics(response_json: dict[str, object]) -> list[str]:
    cards = response_json["cards"]
    assert isinstance(cards, list)
    return [c["source"]["topic"]["code"] for c in cards]


def test_silent_rule_is_counted_and_logged_but_not_returned(
    make_client: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(rule_modes={GERIATRIC: "silent"})
    capsys.readouterr()
    before = client.get("/metrics").text
    response = client.post(f"/cds-services/{PV}", json=load_fixture(FALLS))
    assert response.status_code == 200
    after = client.get("/metrics").text
    # The same chart, all rules active, shows the geriatric card: silence is the mode's doing.
    assert GERIATRIC not in _topics(response.json())
    assert TAPER in _topics(response.json())

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("cds_cards_silent_total", rule=GERIATRIC, indicator="critical") == 1
    assert delta("cds_cards_silent_total") == 1
    assert delta("cds_cards_total", rule=GERIATRIC) == 0
    assert delta("cds_cards_total", rule=TAPER, indicator="warning") == 1

    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    answered = [e for e in logs if e["msg"] == "hook answered"]
    assert answered and answered[0]["silent"] == [{"rule": GERIATRIC, "indicator": "critical"}]
    assert GERIATRIC not in answered[0]["rules"]
    assert "pt-geriatric-falls" not in json.dumps(logs)


def test_all_active_shows_the_card_the_silent_run_hid(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    response = client.post(f"/cds-services/{PV}", json=load_fixture(FALLS))
    assert GERIATRIC in _topics(response.json())


def test_off_rule_is_not_evaluated_at_all(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rule_modes={GERIATRIC: "off"})
    before = client.get("/metrics").text
    response = client.post(f"/cds-services/{PV}", json=load_fixture(FALLS))
    after = client.get("/metrics").text
    assert GERIATRIC not in _topics(response.json())
    assert sample(after, "cds_cards_silent_total", rule=GERIATRIC) == sample(
        before, "cds_cards_silent_total", rule=GERIATRIC
    )


def test_silent_taper_card_makes_the_geriatric_card_carry_the_taper(
    make_client: Callable[..., TestClient],
) -> None:
    """A silent taper-plan card reaches no one, so the geriatric card offers the taper itself."""
    shown = make_client().post(f"/cds-services/{PV}", json=load_fixture(FALLS)).json()
    silent = (
        make_client(rule_modes={TAPER: "silent"})
        .post(f"/cds-services/{PV}", json=load_fixture(FALLS))
        .json()
    )
    geriatric_shown = next(c for c in shown["cards"] if c["source"]["topic"]["code"] == GERIATRIC)
    geriatric_alone = next(c for c in silent["cards"] if c["source"]["topic"]["code"] == GERIATRIC)
    assert "see the taper-plan card" in geriatric_shown["detail"]
    assert not geriatric_shown.get("suggestions")
    assert TAPER not in _topics(silent)
    assert [
        a["resource"]["resourceType"] for s in geriatric_alone["suggestions"] for a in s["actions"]
    ] == ["CarePlan"]


def test_discovery_extension_names_each_rule_mode(make_client: Callable[..., TestClient]) -> None:
    client = make_client(
        rule_modes={GERIATRIC: "silent"},
        enabled_rules="taper-plan,geriatric-risk,opioid-benzodiazepine-overlap,off-ramp",
    )
    services = client.get("/cds-services").json()["services"]
    assert len(services) == 3
    for service in services:
        modes = service["extension"][RULE_MODES_EXTENSION]
        assert modes == {
            "opioid-benzodiazepine-overlap": "active",
            "taper-plan": "active",
            "off-ramp": "active",
            GERIATRIC: "silent",
            "cbti-referral": "off",
        }


def test_rule_modes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENZO_CDS_RULE_MODES", '{"geriatric-risk": "silent", "off-ramp": "off"}')
    monkeypatch.setenv("BENZO_CDS_ENABLED_RULES", "taper-plan")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert {rule: settings.rule_mode(rule) for rule in ALL_RULES} == {
        "opioid-benzodiazepine-overlap": "off",
        "taper-plan": "active",
        "off-ramp": "off",
        GERIATRIC: "silent",
        "cbti-referral": "off",
    }
    monkeypatch.setenv("BENZO_CDS_RULE_MODES", '{"geriatric-risk": "loud"}')
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("BENZO_CDS_RULE_MODES", '{"no-such-rule": "silent"}')
    with pytest.raises(ValidationError, match="no-such-rule"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_feedback_report_shows_silent_beside_shown(
    make_client: Callable[..., TestClient], tmp_path: Path, run_cli: Callable[..., object]
) -> None:
    db_path = tmp_path / "silent.db"
    client = make_client(
        rule_modes={GERIATRIC: "silent"}, database_url=f"sqlite+aiosqlite:///{db_path}"
    )
    for _ in range(3):  # the EHR calls again and again for the same chart: one silent card
        assert client.post(f"/cds-services/{PV}", json=load_fixture(FALLS)).status_code == 200

    def silent_rows() -> list[tuple[str, str, str]]:
        db = sqlite3.connect(db_path)
        try:
            return db.execute("SELECT rule_id, indicator, patient_key FROM silent_cards").fetchall()
        finally:
            db.close()

    # Written behind the answer, within BENZO_CDS_CARD_WRITE_DELAY_MS (20 ms): allow 5 s.
    deadline = time.monotonic() + 5
    while not (stored := silent_rows()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(r, i) for r, i, _ in stored] == [(GERIATRIC, "critical")]
    assert "pt-geriatric-falls" not in stored[0][2]

    result = run_cli("feedback-report", db_path=db_path)
    assert result.returncode == 0, result.stderr
    header = next(line.split() for line in result.stdout.splitlines() if line.startswith("rule"))
    assert header[1:3] == ["issued", "silent"]
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.split() and line.split()[0] in ALL_RULES
    }
    assert rows[GERIATRIC][1:3] == ["0", "1"]
    assert rows[TAPER][1:3] == ["1", "0"]
    as_json = json.loads(run_cli("feedback-report", "--json", db_path=db_path).stdout)
    stats = {s["rule_id"]: s for s in as_json}
    assert (stats[GERIATRIC]["issued"], stats[GERIATRIC]["silent"]) == (0, 1)


@pytest.fixture
def hung_database() -> Iterator[int]:
    """A port whose listener never accepts: connections open (the kernel's backlog) and then
    nothing is said, like a hung server."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield server.getsockname()[1]


def test_a_hung_database_does_not_fail_or_hold_a_call_with_a_silent_card(
    make_client: Callable[..., TestClient], hung_database: int
) -> None:
    """Silent firings are written after the answer, through the store's time bound: a database
    that never answers costs one bounded wait and no error (the next firing tries again)."""
    client = make_client(
        database_url=f"postgresql+asyncpg://cds@127.0.0.1:{hung_database}/cds",
        database_timeout_seconds=0.5,
        database_retry_seconds=60,
        rule_modes={GERIATRIC: "silent"},
    )
    before = client.get("/metrics").text
    started = time.monotonic()
    response = client.post(f"/cds-services/{PV}", json=load_fixture(FALLS))
    assert response.status_code == 200
    assert GERIATRIC not in _topics(response.json())
    assert time.monotonic() - started < 10  # the black hole never answers: waits were bounded
    after = client.get("/metrics").text
    assert (
        sample(after, "cds_cards_silent_total", rule=GERIATRIC)
        - sample(before, "cds_cards_silent_total", rule=GERIATRIC)
        == 1
    )
