"""Run `wrk` with the reporting Lua script and return its numbers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import BenchError

SCRIPT = Path(__file__).with_name("wrk_report.lua")
MARKER = "BENCH_JSON "


def ensure_wrk(install: bool = True) -> str:
    """Path to wrk; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(cmd, env=env, check=False, capture_output=True, timeout=300)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(
        "wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu) as root, "
        "or install wrk from your package manager, then retry."
    )


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (
        (done.stdout or done.stderr).splitlines()[0].strip()
        if (done.stdout or done.stderr)
        else "unknown"
    )


@dataclass(frozen=True)
class Load:
    connections: int
    threads: int
    duration_s: float
    timeout_s: float = 30.0


def run_wrk(wrk: str, url: str, load: Load, body_file: Path | None = None) -> dict[str, Any]:
    """One wrk run; its JSON summary (latency in microseconds)."""
    # wrk takes whole seconds for -d; a long -timeout keeps slow answers in the latency histogram
    # instead of dropping them as timeouts.
    cmd = [
        wrk,
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{max(1, round(load.duration_s))}s",
        "--timeout",
        f"{load.timeout_s:.0f}s",
        "-s",
        str(SCRIPT),
        url,
    ]
    if body_file is not None:
        cmd += ["--", str(body_file)]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=load.duration_s + load.timeout_s + 60,
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            return dict(json.loads(line[len(MARKER) :]))
    raise BenchError(
        f"wrk exited with {done.returncode} and no report:\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
