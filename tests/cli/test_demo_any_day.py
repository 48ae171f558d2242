"""The demo works on any day: fixtures moved to a day keep their cards; README's demo a year on."""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from app import config
from app.cli import main as cli
from app.cli.demo import expected_cards, find_fixture
from app.config import Settings
from app.demo.fixtures import request_for_day, written_for
from app.demo.timeshift import shift_dates, shift_value
from app.main import create_app
from tests.cli.fhir_standin import free_port
from tests.conftest import FIXTURES, ROOT, load_fixture

EXPECTED = expected_cards(FIXTURES)
PREFETCHED = sorted(name for name in EXPECTED if "prefetch" in load_fixture(name))
SERVICE = {
    "patient-view": "benzo-safety-patient-view",
    "order-select": "benzo-safety-order-select",
    "order-sign": "benzo-safety-order-sign",
}
# A year on, a leap day, and two later days in other seasons.
DAYS = [date(2027, 11, 23), date(2028, 2, 29), date(2029, 3, 13), date(2031, 6, 1)]


def test_shift_keeps_intervals_and_leaves_ids_and_codes() -> None:
    document = {
        "id": "2026-11-23",
        "authoredOn": "2026-11-02",
        "meta": {"lastUpdated": "2026-11-23T09:00:00Z"},
        "period": {"start": "2024-02-29", "end": "2026-11"},
        "onsetDateTime": "2024",
        "code": {"coding": [{"code": "1010"}]},
        "subject": {"reference": "Patient/2026-01-01"},
        "note": [{"text": "2026-13-45"}],
        "value": "2026-11-23",
    }
    moved = shift_dates(document, 365)
    assert moved["authoredOn"] == "2027-11-02"
    assert moved["meta"]["lastUpdated"] == "2027-11-23T09:00:00Z"
    assert moved["period"] == {"start": "2025-02-28", "end": "2027-11"}
    assert moved["onsetDateTime"] == "2025"
    assert moved["id"] == "2026-11-23" and moved["value"] == "2026-11-23"
    assert moved["code"] == document["code"] and moved["subject"] == document["subject"]
    assert moved["note"] == [{"text": "2026-13-45"}]  # not a date: left alone
    assert shift_value("1010", 365, date_key=False) == "1010"
    assert shift_dates(document, 0) == document and shift_dates(document, 0) is not document


@pytest.mark.parametrize("name", PREFETCHED)
def test_moved_fixture_keeps_its_intervals(name: str) -> None:
    request = load_fixture(name)
    moved = request_for_day(request, DAYS[0])
    written = written_for(request)
    assert written is not None and written_for(moved) == DAYS[0]
    days = (DAYS[0] - written).days
    authored = [r.get("authoredOn") for r in _resources(request)]
    moved_authored = [r.get("authoredOn") for r in _resources(moved)]
    for before, after in zip(authored, moved_authored, strict=True):
        if before and len(before) >= 10:
            assert (date.fromisoformat(after[:10]) - date.fromisoformat(before[:10])).days == days


def _resources(request: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for value in list((request.get("prefetch") or {}).values()) + [
        request["context"].get("draftOrders")
    ]:
        if isinstance(value, dict):
            found += [e["resource"] for e in value.get("entry", [])] or [value]
    return found


@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("name", PREFETCHED)
def test_fixture_moved_to_any_day_gives_its_listed_cards(
    make_client: Callable[..., Any], name: str, day: date
) -> None:
    request = request_for_day(load_fixture(name), day)
    response = make_client(evaluation_date=day).post(
        f"/cds-services/{SERVICE[request['hook']]}", json=request
    )
    assert response.status_code == 200, response.text
    cards = sorted((c["source"]["topic"]["code"], c["indicator"]) for c in response.json()["cards"])
    assert cards == EXPECTED[name]


def test_preview_serves_fixtures_moved_to_the_service_day(make_client: Callable[..., Any]) -> None:
    client = make_client(evaluation_date=DAYS[0])
    served = client.get("/preview/fixtures/hooks/patient-view-overlap.json").json()
    assert served == request_for_day(load_fixture("hooks/patient-view-overlap.json"), DAYS[0])


# --------------------------------------------------------------------------- README's demo


def readme_demo_commands() -> list[str]:
    """The shell commands of README's quick-start block that follows 'from another shell'."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"from another shell.*?```sh\n(.*?)```", text, re.S)
    assert block, "README's quick start lost its demo block"
    joined = block[1].replace("\\\n", " ")
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


class _YearLater(datetime):
    """The real clock, a year ahead."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + timedelta(days=365)


@pytest.fixture
def year_later_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The service with no fixed evaluation date, on loopback, its clock a year ahead."""
    monkeypatch.setattr(config, "datetime", _YearLater)
    monkeypatch.delenv("BENZO_CDS_EVALUATION_DATE", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    config.get_settings.cache_clear()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",  # type: ignore[call-arg]
        log_level="WARNING",
    )
    assert settings.evaluation_date is None
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        config.get_settings.cache_clear()


def test_readme_demo_a_year_from_now(
    year_later_service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = year_later_service
    today = (datetime.now(UTC) + timedelta(days=365)).date()
    assert config.get_settings().today() == today
    commands = readme_demo_commands()
    printed = [c for c in commands if c.startswith("benzo-cds demo --print")]
    assert "benzo-cds demo" in commands and len(printed) >= 2
    for command in commands:
        if command.startswith("curl") and "|" not in command:
            url = re.search(r"http://127\.0\.0\.1:8000(\S*)", command)
            assert url and httpx.get(base + url[1], timeout=10).status_code == 200
        elif command == "benzo-cds demo":
            assert cli.main(["demo", "--url", base]) == 0
            out = capsys.readouterr().out
            assert f"dates moved to {today.isoformat()}" in out
            assert " 0 different" in out and "DIFFERENT" not in out
        elif command in printed:
            left, right = command.split("|", 1)
            assert cli.main(shlex.split(left)[1:]) == 0
            request = json.loads(capsys.readouterr().out)
            assert written_for(request) == today
            path = re.search(r"http://127\.0\.0\.1:8000(\S+)", right)
            assert path and "-d @-" in right
            answer = httpx.post(base + path[1], json=request, timeout=30)
            assert answer.status_code == 200, answer.text
            cards = sorted(
                (c["source"]["topic"]["code"], c["indicator"]) for c in answer.json()["cards"]
            )
            name = find_fixture(FIXTURES, shlex.split(left)[-1])
            assert cards == EXPECTED[name] and cards, name
        else:
            pytest.fail(f"README demo command this test does not know: {command}")


def test_demo_says_when_the_service_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert cli.main(["demo", "--url", f"http://127.0.0.1:{port}", "patient-view-overlap"]) == 1
    assert "benzo-cds serve" in capsys.readouterr().err


def test_demo_unknown_fixture_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--print", "no-such-fixture"]) == 2
    err = capsys.readouterr().err
    assert "no fixture 'no-such-fixture'" in err and "patient-view-overlap" in err
