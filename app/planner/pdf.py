"""The handout as a PDF: headless Chromium prints the handout page the service serves.

A command (`benzo-cds handout-pdf LINK -o handout.pdf`), not an endpoint: a browser per request
does not belong in the CDS service, and clinicians print from their own browser. The command
serves the planner's own routes on a loopback port for the duration of the print, so the PDF is
the same page, HTML and CSS, that the browser shows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

from app.config import Settings
from app.planner.handout_page import PATH as HANDOUT_PATH
from app.planner.query import PlannerInputError, parse, to_params

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Not clinical: a two-page handout prints in about a second; allow a slow, shared machine.
PRINT_TIMEOUT_SECONDS = 90


class PdfError(RuntimeError):
    """The PDF could not be made (no Chromium, bad link, print failed); the message says why."""


def find_chromium(explicit: str | None = None) -> str:
    found = explicit or next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    if not found:
        raise PdfError(
            "no Chromium found: install chromium (apt-get install chromium) or pass --chromium PATH"
        )
    return found


def chromium_command(chromium: str, profile: Path, url: str, out: Path) -> list[str]:
    """Headless print flags: no network chatter, no header or footer, a fresh profile."""
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={out}",
        url,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.insert(2, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return command


def print_pdf(url: str, out: Path, chromium: str | None = None) -> Path:
    """Print ``url`` to ``out`` with headless Chromium; PdfError when nothing was written."""
    binary = find_chromium(chromium)
    out = out.resolve()
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="benzo-cds-pdf-") as profile:
        result = subprocess.run(
            chromium_command(binary, Path(profile), url, out),
            capture_output=True,
            text=True,
            check=False,
            timeout=PRINT_TIMEOUT_SECONDS,
        )
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise PdfError(f"Chromium did not print the handout (exit {result.returncode})")
    return out


def handout_query(link: str, settings: Settings, paper: str | None) -> str:
    """The handout's query from a planner or handout link (or a bare query), checked."""
    text = link.strip()
    query_text = urlsplit(text).query if "?" in text or "://" in text else text.lstrip("?")
    params = parse_qs(query_text, keep_blank_values=False)
    if paper:
        params["paper"] = [paper]
    try:
        query = parse(params, settings.today())
    except PlannerInputError as error:
        raise PdfError("; ".join(error.problems)) from error
    if query.dose_mg is None:
        raise PdfError("dose: the handout needs the confirmed total daily dose (mg a day)")
    return urlencode(to_params(query, paper=True))


@contextmanager
def local_planner(settings: Settings) -> Iterator[str]:
    """The planner's routes on a free loopback port, for as long as the block runs."""
    import uvicorn
    from fastapi import FastAPI

    from app.planner.routes import router

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.cds = SimpleNamespace(settings=settings)
    app.include_router(router)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise PdfError("the local planner did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def handout_pdf(
    link: str,
    out: Path,
    *,
    paper: str | None = None,
    settings: Settings | None = None,
    chromium: str | None = None,
) -> Path:
    """The handout for ``link`` (a planner link from a card) printed to ``out``."""
    settings = settings or Settings()
    query = handout_query(link, settings, paper)
    binary = find_chromium(chromium)
    with local_planner(settings) as base:
        return print_pdf(f"{base}{HANDOUT_PATH}?{query}", out, binary)
