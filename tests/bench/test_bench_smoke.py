"""The benchmark end to end in --quick mode, and wrk's count of non-200 answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import QUICK_SCENARIOS, add_ratios, format_table
from bench.servers import Server
from bench.wrk import Load, run_wrk

ROOT = Path(__file__).resolve().parents[2]
needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)


@pytest.mark.slow
@needs_wrk
def test_quick_benchmark_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ok"] is True
    rows = result["rows"]
    assert {(r["scenario"], r["connections"]) for r in rows} == {
        (s, c) for s in QUICK_SCENARIOS for c in (1, 8)
    }
    for row in rows:
        assert row["error"] is None
        assert row["requests"] > 0
        # Every measured request was answered HTTP 200: errors are never measured as speed.
        assert row["non_200"] == 0 and row["socket_errors"] == 0
        assert row["wrk"]["responses"] == row["requests"]
        assert row["p50_ms"] > 0 and row["p99_ms"] >= row["p50_ms"]
        assert row["requests_per_s"] > 0 and row["p50_vs_floor"] > 0
    table = done.stdout.splitlines()
    assert table[0].split()[:3] == ["scenario", "workers", "conns"]
    body = [line.split() for line in table[2:] if line and line.split()[0] in QUICK_SCENARIOS]
    assert len(body) == len(rows)
    for cells in body:
        assert all(float(value) > 0 for value in cells[3:7])


@pytest.mark.slow
@needs_wrk
def test_wrk_counts_answers_that_are_not_200(tmp_path: Path) -> None:
    # The floor answers 400 to a JSON body that is not an object.
    body = tmp_path / "bad.json"
    body.write_text("[]", encoding="utf-8")
    with Server("floor", "bench.floor_app:app", log_dir=tmp_path) as server:
        report = run_wrk(
            shutil.which("wrk") or "wrk",
            server.base_url + "/cds-services/x",
            Load(connections=2, threads=1, duration_s=1),
            body,
        )
        assert server.process is not None and server.process.poll() is None
    assert server.process is None
    assert report["requests"] > 0
    assert report["non_200"] == report["requests"] == report["responses"]


def test_ratios_and_fallback_target() -> None:
    rows = [
        {"scenario": "floor", "workers": 1, "connections": 1, "p50_ms": 2.0},
        {"scenario": "patient-view-typical", "workers": 1, "connections": 1, "p50_ms": 5.0},
        {"scenario": "fhir-fallback", "workers": 1, "connections": 1, "p50_ms": 60.0},
        {"scenario": "fhir-one-query", "workers": None, "connections": 1, "p50_ms": 50.0},
        {"scenario": "patient-view-typical", "workers": 2, "connections": 1, "p50_ms": 4.0},
    ]
    comparisons = add_ratios(rows)
    assert rows[1]["p50_vs_floor"] == pytest.approx(2.5)
    assert rows[2]["p50_vs_floor"] == pytest.approx(30.0)
    assert rows[3]["p50_vs_floor"] is None  # the stand-in is not a service call
    assert rows[4]["p50_vs_floor"] is None  # no floor measured at 2 workers
    assert comparisons == [
        {
            "workers": 1,
            "connections": 1,
            "fallback_p50_ms": 60.0,
            "one_query_p50_ms": 50.0,
            "ratio": pytest.approx(1.2),
            "target": 1.2,
            "meets_target": True,
        }
    ]
    table = format_table([{**r, "error": None} for r in rows]).splitlines()
    assert "p50/floor" in table[0] and table[4].split()[-5] == "30.00"


def test_ratios_against_each_floor() -> None:
    """Heavy bodies compare with the bench floor, the service-GC floor and the json floor."""
    rows = [
        {"scenario": "floor-heavy", "workers": 2, "connections": 32, "p50_ms": 4.0},
        {"scenario": "floor-gc-heavy", "workers": 2, "connections": 32, "p50_ms": 2.0},
        {"scenario": "floor-json-heavy", "workers": 2, "connections": 32, "p50_ms": 8.0},
        {"scenario": "order-select-heavy", "workers": 2, "connections": 32, "p50_ms": 6.0},
        {"scenario": "patient-view-typical", "workers": 2, "connections": 32, "p50_ms": 6.0},
    ]
    add_ratios(rows)
    heavy = rows[3]
    assert (heavy["p50_vs_floor"], heavy["p50_vs_floor_gc"], heavy["p50_vs_floor_json"]) == (
        pytest.approx(1.5),
        pytest.approx(3.0),
        pytest.approx(0.75),
    )
    assert rows[1]["p50_vs_floor"] == pytest.approx(0.5)  # the GC floor against the bench's
    assert rows[4]["p50_vs_floor"] is None  # no typical floor measured
