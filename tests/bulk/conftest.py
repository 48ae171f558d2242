"""One messy generated export and its local dry run, shared by the dry-run tests."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.bulk.progress import Progress
from app.bulk.run import CSV_NAME, DryRun, dry_run
from app.config import Settings
from tests.bulk.export import MessyExport, write_messy_export
from tests.cli.conftest import cli_env
from tests.conftest import EVALUATION_DATE


def settings() -> Settings:
    return Settings(_env_file=None, evaluation_date=EVALUATION_DATE)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> MessyExport:
    return write_messy_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def local_run(messy: MessyExport, tmp_path_factory: pytest.TempPathFactory) -> DryRun:
    """The local engine on two workers, ids revealed so rows can be matched to patients."""
    return dry_run(
        messy.folder,
        tmp_path_factory.mktemp("local"),
        settings=settings(),
        date_arg=EVALUATION_DATE.isoformat(),
        reveal_ids=True,
        workers=2,
        progress=Progress(enabled=False),
    )


@pytest.fixture(scope="session")
def local_rows(local_run: DryRun) -> list[dict[str, Any]]:
    """The local run's CSV rows, typed back as the engine wrote them (numbers as numbers)."""
    with (local_run.out / CSV_NAME).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (int(v) if v.isdigit() else v) for k, v in row.items()} for row in rows]


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`python -m app.cli ARGS` as tests/cli runs it, with room for a dry run on a busy machine."""

    def runner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=tmp_path,
            env=cli_env(tmp_path / "cli.db"),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return runner
