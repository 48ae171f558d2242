"""The preview page in real headless Chromium against the real app served by uvicorn."""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.main import create_app
from tests.conftest import load_fixture
from tests.preview import png_pixels

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIXTURE = "hooks/patient-view-overlap.json"
STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
NOTES = Path("/work/notes")
# Indicator colours from app/static/preview.css (--critical, --warning).
CRITICAL_RGB, WARNING_RGB = (198, 40, 40), (217, 130, 11)

requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app on a free local port, run by uvicorn in a background thread."""
    db = tmp_path_factory.mktemp("db") / "preview.db"
    settings = Settings(
        evaluation_date=date(2026, 11, 23),
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{db}",
        log_level="WARNING",
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _cards_in(dom: str) -> list[tuple[str, str]]:
    """(indicator, article html) for each rendered card."""
    return re.findall(
        r'<article class="card[^"]*" data-indicator="(\w+)"[^>]*>(.*?)</article>', dom, flags=re.S
    )


@requires_chromium
def test_fixture_page_renders_the_service_cards(server: str, tmp_path: Path) -> None:
    expected = httpx.post(
        f"{server}/cds-services/benzo-safety-patient-view", json=load_fixture(FIXTURE), timeout=30
    ).json()["cards"]
    assert expected, "the overlap fixture should produce cards"

    result = _chromium(tmp_path / "profile", "--dump-dom", f"{server}/preview?fixture={FIXTURE}")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    cards = _cards_in(dom)
    assert [indicator for indicator, _ in cards] == [c["indicator"] for c in expected]
    assert {"critical", "warning"} <= {indicator for indicator, _ in cards}
    text = html.unescape(dom)
    for card in expected:
        assert card["summary"] in text
    assert re.search(r"oxycodone", cards[0][1], re.I) and re.search(r"alprazolam", dom, re.I)
    assert "HTTP 200" in dom and f"{len(expected)} cards" in dom
    for _, body in cards:
        detail = re.search(r'<div class="card-detail">(.*?)</div>', body, flags=re.S)
        assert detail and ("<strong>" in detail.group(1) or "<li>" in detail.group(1))
        assert "**" not in detail.group(1)  # Markdown was rendered, not shown raw
    # Suggestions, links, override reasons and source are all shown for the first card.
    first = expected[0]
    for suggestion in first.get("suggestions", []):
        assert html.escape(suggestion["label"], quote=False) in cards[0][1]
    for reason in first.get("overrideReasons", []):
        assert html.escape(reason["display"], quote=False) in cards[0][1]
    assert "Dismiss because…" in cards[0][1]
    for link in first.get("links", []):
        assert f'href="{html.escape(link["url"])}"' in cards[0][1]
    assert first["source"]["topic"]["code"] in cards[0][1]


@requires_chromium
def test_error_answer_shows_operation_outcome(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fixtures dir of our own (BENZO_CDS_FIXTURES_DIR is read per request) with a request
    # the real service refuses: patient-view without context.patientId.
    root = tmp_path / "fixtures"
    (root / "hooks").mkdir(parents=True)
    bad = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example"},
    }
    (root / "hooks" / "bad-context.json").write_text(json.dumps(bad), encoding="utf-8")
    monkeypatch.setenv("BENZO_CDS_FIXTURES_DIR", str(root))
    answer = httpx.post(f"{server}/cds-services/benzo-safety-patient-view", json=bad, timeout=30)
    assert answer.status_code == 400
    diagnostics = [i["diagnostics"] for i in answer.json()["issue"] if i.get("diagnostics")]
    assert diagnostics

    result = _chromium(
        tmp_path / "profile", "--dump-dom", f"{server}/preview?fixture=hooks/bad-context.json"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = html.unescape(result.stdout)
    assert not _cards_in(result.stdout)
    assert "HTTP 400" in text
    error_box = re.search(r'<div id="error" class="error">(.*?)</div>', text, flags=re.S)
    assert error_box, "the error box should be visible"
    for diagnostic in diagnostics:
        assert diagnostic in error_box.group(1)


@requires_chromium
def test_screenshot_looks_like_a_card_panel(server: str, tmp_path: Path) -> None:
    shot = tmp_path / "preview.png"
    result = _chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        f"{server}/preview?fixture={FIXTURE}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == png_pixels.SIGNATURE
    assert png_pixels.size(shot) == (1200, 1600)
    rows = png_pixels.top_rows(shot, 900)
    colours = {pixel for row in rows for pixel in row}
    assert len(colours) > 50, "screenshot looks blank"
    # The critical and warning cards' indicator bars were painted.
    assert any(_near(pixel, CRITICAL_RGB) for pixel in colours)
    assert any(_near(pixel, WARNING_RGB) for pixel in colours)
    if NOTES.is_dir():
        shutil.copyfile(shot, NOTES / "preview.png")


def _js_string(text: str) -> str:
    """A JS string literal safe inside an inline <script> (no closing tag)."""
    return json.dumps(text).replace("</", "<\\/")


def _near(pixel: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(pixel, target, strict=True))


@requires_chromium
def test_markdown_renderer_is_safe(tmp_path: Path) -> None:
    """renderMarkdown from preview.js, run in Chromium on hostile and ordinary input."""
    cases = {
        "xss": '<img src=x onerror="alert(1)"> <script>alert(2)</script>',
        "js-link": "[click](javascript:alert(1)) and [ok](https://example.org/a_b?x=1&y=2)",
        "emphasis": "**bold** and _it_ and *also* and `a_b **c**` and snake_case_name",
        "lists": "# Head\n- one\n- **two**\n\n1. first\n2. second\n\nPara one\nline two",
        "table": "| a | b |\n|---|---|\n| 1 | **2** |",
    }
    calls = "".join(
        f'out.append(Object.assign(document.createElement("div"), {{id: "{name}", '
        f"innerHTML: renderMarkdown({_js_string(text)})}}));"
        for name, text in cases.items()
    )
    page = tmp_path / "md.html"
    page.write_text(
        '<!doctype html><html><body><div id="out"></div>'
        f'<script src="{(STATIC / "preview.js").as_uri()}"></script>'
        f'<script>const out = document.getElementById("out");{calls}</script></body></html>',
        encoding="utf-8",
    )
    result = _chromium(
        tmp_path / "profile", "--allow-file-access-from-files", "--dump-dom", page.as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    got = {
        name: re.search(rf'<div id="{name}">(.*?)</div>', dom, flags=re.S).group(1)  # type: ignore[union-attr]
        for name in cases
    }
    assert "<img" not in got["xss"] and "<script" not in got["xss"]
    assert "&lt;img" in got["xss"] and "&lt;script&gt;" in got["xss"]
    assert "javascript" not in "".join(re.findall(r'href="([^"]*)"', got["js-link"]))
    assert got["js-link"].count("<a ") == 1
    assert (
        '<a href="https://example.org/a_b?x=1&amp;y=2" target="_blank" '
        'rel="noopener noreferrer">ok</a>'
    ) in got["js-link"]
    assert "<strong>bold</strong>" in got["emphasis"]
    assert "<em>it</em>" in got["emphasis"] and "<em>also</em>" in got["emphasis"]
    assert "<code>a_b **c**</code>" in got["emphasis"] and "snake_case_name" in got["emphasis"]
    assert "<h4>Head</h4>" in got["lists"]
    assert "<ul><li>one</li><li><strong>two</strong></li></ul>" in got["lists"]
    assert "<ol><li>first</li><li>second</li></ol>" in got["lists"]
    assert "<p>Para one line two</p>" in got["lists"]
    assert "<th>a</th>" in got["table"] and "<td><strong>2</strong></td>" in got["table"]
