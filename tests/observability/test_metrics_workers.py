"""`benzo-cds serve --workers 2`: every scrape of /metrics counts every worker's calls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.cli.fhir_standin import free_port
from tests.conftest import load_fixture
from tests.observability.metrics_text import sample

ROOT = Path(__file__).resolve().parents[2]
PV = "benzo-safety-patient-view"
CALLS = 24


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def _post(base: str, body: dict[str, object]) -> int:
    # A new connection per call, so the kernel spreads the calls over both workers.
    with httpx.Client(timeout=30) as client:
        return client.post(f"{base}/cds-services/{PV}", json=body).status_code


def test_scrapes_sum_the_workers_and_the_directory_is_removed(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BENZO_CDS_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        TMPDIR=str(tmp_path),
        BENZO_CDS_LOG_LEVEL="WARNING",
        BENZO_CDS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/s.db",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(base, server)
        body = load_fixture("hooks/patient-view-overlap.json")
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda _: _post(base, body), range(CALLS)))
        assert statuses == [200] * CALLS
        scraped = set()
        for _ in range(10):
            with httpx.Client(timeout=10) as client:
                text = client.get(f"{base}/metrics").text
            scraped.add(
                sample(text, "cds_calls_total", endpoint="service", service=PV, status="200")
            )
        # Without the shared directory each scrape shows one worker's share.
        assert scraped == {CALLS}
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("benzo-cds-metrics-")]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("benzo-cds-metrics-")]
