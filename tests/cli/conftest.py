"""Shared helpers for the developer-experience tests: CLI subprocesses and a live FHIR stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.fhir_standin import run_standin
from tests.conftest import FIXTURES, ROOT

OVERLAP_FOLDER = FIXTURES / "servers" / "overlap-patient"
TOKEN = "dx-standin-token"


def cli_env(db_path: Path) -> dict[str, str]:
    """The parent environment minus any BENZO_CDS_* settings, plus a tmp DB and fixed date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENZO_CDS_")}
    env.update(
        {
            "BENZO_CDS_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
            "BENZO_CDS_EVALUATION_DATE": "2026-11-23",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m app.cli ARGS` in tmp_path (so no stray .env is read)."""

    def runner(*args: str, db_path: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=tmp_path,
            env=cli_env(db_path or tmp_path / "cli.db"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return runner


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[str, Any]]:
    """The overlap patient served on loopback, requiring TOKEN."""
    with run_standin(OVERLAP_FOLDER, token=TOKEN) as running:
        yield running
