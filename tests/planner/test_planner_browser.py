"""The planner as a clinician uses it, in headless Chromium: from a real card's link to the PDF.

The journey (tests/planner/browser/journey.mjs) runs in playwright-core against the system
Chromium and audits with axe-core, both from the npm registry (installed here into the
gitignored tests/planner/browser/node_modules). The PDF comes from `benzo-cds handout-pdf`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.main import create_app
from app.planner.pdf import handout_pdf
from app.planner.query import parse
from app.planner.schedule import compute
from tests.api.test_taper_card_http import _request
from tests.planner.test_planner_http import planner_link
from tests.preview import png_pixels

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE, NPM = shutil.which("node"), shutil.which("npm")
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
EVALUATION_DATE = date(2026, 11, 23)
# Set to a folder (e.g. docs/planner) to keep the journey's screenshots there.
SCREENSHOTS_ENV = "BENZO_CDS_SCREENSHOTS_DIR"

requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)"
)
requires_poppler = pytest.mark.skipif(
    not (shutil.which("pdfinfo") and shutil.which("pdftotext")),
    reason="no pdfinfo/pdftotext (apt-get install poppler-utils)",
)


def _settings(tmp: Path) -> Settings:
    return Settings(
        evaluation_date=EVALUATION_DATE,
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp / 'planner.db'}",
        log_level="WARNING",
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app on a free local port, run by uvicorn in a background thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    uv = uvicorn.Server(
        uvicorn.Config(
            create_app(_settings(tmp_path_factory.mktemp("db"))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """playwright-core and axe-core from the npm registry (npm ci against the lock file)."""
    if NODE is None or NPM is None:
        pytest.skip("node/npm not on PATH: the planner journey needs playwright-core and axe-core")
    modules = BROWSER_DIR / "node_modules"
    wanted = (modules / "playwright-core" / "package.json", modules / "axe-core" / "axe.min.js")
    if not all(p.is_file() for p in wanted):
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BROWSER_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0 or not all(p.is_file() for p in wanted):
            pytest.skip(f"npm ci failed (registry unreachable?): {result.stderr[-300:]}")
    return modules


def _card_link(server: str) -> str:
    body = _request("308048", "alprazolam 0.5 MG Oral Tablet", 0.75, 2, ["MORN", "HS"])
    answer = httpx.post(f"{server}/cds-services/benzo-safety-patient-view", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    [card] = [c for c in answer.json()["cards"] if c["source"]["topic"]["code"] == "taper-plan"]
    link = planner_link(card)
    assert link.startswith(f"{server}/taper-planner?")
    return link


def _day(text: str) -> date:
    return datetime.strptime(text, "%b %d, %Y").date()


def _serious(audit: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in audit["violations"] if v["impact"] in ("serious", "critical")]


@requires_chromium
def test_clinician_journey_from_a_card_link(
    server: str, node_modules: Path, tmp_path: Path
) -> None:
    link = _card_link(server)
    assert node_modules.is_dir() and NODE is not None and CHROMIUM is not None
    run = subprocess.run(
        [NODE, str(BROWSER_DIR / "journey.mjs"), link, str(tmp_path), CHROMIUM],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)

    # The page shows the engine's plan for the card's link: one row and one marker per step.
    expected = compute(parse(parse_qs(urlsplit(link).query), EVALUATION_DATE), _settings(tmp_path))
    assert expected.plan is not None
    initial = report["initial"]
    assert [row[3] for row in initial["rows"]] == [
        f"{float(s.dose_mg):g} mg" for s in expected.plan.steps
    ]
    assert [c["date"] for c in initial["circles"]] == [
        s.starts.isoformat() for s in expected.plan.steps
    ]
    assert "tablets of 0.25 mg" in initial["rows"][0][5]

    # Slower pace: same doses, every step later, the chart redrawn, the URL kept in step.
    slower = report["slower"]
    assert (
        "pace=slower" in slower["url"] and "every 4 weeks" in slower["summary"]["Pace as computed"]
    )
    assert [r[3] for r in slower["rows"]] == [r[3] for r in initial["rows"]]
    assert _day(slower["summary"]["Last dose stops"]) > _day(initial["summary"]["Last dose stops"])
    assert slower["path"] != initial["path"]
    assert [c["cx"] for c in slower["circles"]] != [c["cx"] for c in initial["circles"]]
    assert slower["careplan"] != initial["careplan"] and "every 4 weeks" in slower["careplan"]

    # Hold step 2 two more weeks: steps 3 on move 14 days; focus stays on the control.
    held = report["held"]
    assert "hold=2%3A2" in held["url"] or "hold=2:2" in held["url"]
    assert report["focusAfterHold"] == "hold-2"
    assert [r[1] for r in held["rows"][:2]] == [r[1] for r in slower["rows"][:2]]
    assert (_day(held["rows"][1][2]) - _day(slower["rows"][1][2])).days == 14
    for before, after in zip(slower["rows"][2:], held["rows"][2:], strict=True):
        assert (_day(after[1]) - _day(before[1])).days == 14
    assert held["live"] == "Plan updated."  # announced to screen readers

    # The long-acting switch (ASAM rec. 7) recomputes too.
    switched = report["switched"]
    assert switched["rows"][0][0] == "Switch" and switched["rows"][0][5].startswith("diazepam:")
    assert switched["summary"]["Switch"].startswith("15 mg a day of diazepam")
    assert "every" in switched["summary"]["Pace as computed"]

    # Without JavaScript the form GET gives the same plans.
    assert report["noJsSlower"]["rows"] == slower["rows"]
    assert report["noJsHeld"]["rows"] == held["rows"]
    assert report["errors"] == []

    # The handout from "Print for the patient" carries the held plan's calendar.
    handout = report["handout"]
    assert "hold=2" in handout["url"]
    doses = [row[2] for row in handout["calendar"]]
    assert doses[0] == "1.5 mg" and doses[-1] == "none"
    assert "When to call" in handout["text"] and handout["printButtonShown"]
    assert report["handoutPrintToolbarHidden"]

    # axe-core: no serious or critical violation on the planner, the switch, the handout.
    for key in ("axePlanner", "axeSwitched", "axeHandout"):
        assert report[key]["version"].startswith("4."), key
        assert _serious(report[key]) == [], (key, report[key]["violations"])

    for name in ("planner.png", "handout.png"):
        shot = tmp_path / name
        assert shot.read_bytes()[:8] == png_pixels.SIGNATURE
        rows = png_pixels.top_rows(shot, 400)
        assert len({pixel for row in rows for pixel in row}) > 20, f"{name} looks blank"
    keep = os.environ.get(SCREENSHOTS_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("planner.png", "handout.png"):
            shutil.copyfile(tmp_path / name, Path(keep) / name)


def _pdf_text(path: Path) -> tuple[str, str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return info.stdout, text.stdout


@requires_chromium
@requires_poppler
@pytest.mark.parametrize(("paper", "size"), [("a4", "(A4)"), ("letter", "(letter)")])
def test_handout_pdf_from_the_card_link(server: str, tmp_path: Path, paper: str, size: str) -> None:
    link = _card_link(server)
    out = handout_pdf(
        link,
        tmp_path / f"handout-{paper}.pdf",
        paper=paper,
        settings=_settings(tmp_path),
        chromium=CHROMIUM,
    )
    info, text = _pdf_text(out)
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 1 <= pages <= 2, pages
    assert size in info
    flat = " ".join(text.split())
    for needed in (
        "Your plan to lower alprazolam slowly",
        "Mon, Nov 23, 2026",
        "1.5 mg",
        "Stop. You have finished the plan.",
        "What to expect",
        "When to call",
        "Your next visit",
        "Dec 21, 2026",
        "CBT-I",
        "988",
    ):
        assert needed in flat, needed
    assert "Back to the planner" not in flat and "Print this page" not in flat


@requires_chromium
@requires_poppler
@pytest.mark.parametrize(
    "query",
    [
        # High but real doses, three times a day, with holds: the longest calendars in practice.
        "drug=diazepam&form=tablet&strength=10&dose=40&times=morning,afternoon,bedtime&hold=3:2",
        "drug=alprazolam&form=tablet&strength=1&dose=4&switch=diazepam&times=morning,bedtime"
        "&hold=3:2&pace=slower",
    ],
)
def test_long_plans_still_print_on_two_pages(tmp_path: Path, query: str) -> None:
    for paper in ("a4", "letter"):
        out = handout_pdf(
            f"{query}&start=2026-11-23",
            tmp_path / f"{paper}.pdf",
            paper=paper,
            settings=_settings(tmp_path),
            chromium=CHROMIUM,
        )
        info, text = _pdf_text(out)
        assert "Pages:           2" in info or "Pages:           1" in info, info
        assert "When to call" in text
