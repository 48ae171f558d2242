"""`benzo-cds db upgrade|current` as a subprocess, on SQLite and PostgreSQL; and the migration
scripts ship in the wheel, so an installed service can upgrade its database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.feedback.migrate import head_revision
from tests.cli.conftest import cli_env
from tests.conftest import ROOT


def _db(
    tmp_path: Path, url: str, *args: str, pythonpath: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path / "unused.db")
    env["BENZO_CDS_DATABASE_URL"] = url
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "db", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_current_then_upgrade_then_current(tmp_path: Path, database_url: str) -> None:
    before = _db(tmp_path, database_url, "current", "--check")
    assert before.returncode == 1, before.stderr
    assert "empty" in before.stdout and "run `benzo-cds db upgrade`" in before.stdout

    upgraded = _db(tmp_path, database_url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from empty to revision {head_revision()}" in upgraded.stdout
    again = _db(tmp_path, database_url, "upgrade")
    assert f"already at revision {head_revision()}; nothing to do" in again.stdout

    after = _db(tmp_path, database_url, "current")  # without --check, never a failure
    assert after.returncode == 0
    assert f"revision {head_revision()} (up to date)" in after.stdout


def test_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://cds:s3cret-pw@127.0.0.1:1/cds"
    result = _db(tmp_path, url, "current")
    assert result.returncode == 2
    assert "cannot reach the database" in result.stdout
    assert "127.0.0.1:1/cds" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr


@pytest.mark.slow
def test_the_wheel_carries_the_migrations(tmp_path: Path) -> None:
    # As the Docker build does (it copies pyproject.toml, README.md and app/): pip builds the
    # wheel with the backend pyproject names, here from a copy so the checkout stays clean.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("benzo_safety_cds-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    versions = ROOT / "app" / "feedback" / "migrations" / "versions"
    assert {
        "app/feedback/migrations/env.py",
        "app/feedback/migrations/script.py.mako",
        *(f"app/feedback/migrations/versions/{p.name}" for p in versions.glob("0*.py")),
    } <= names  # every migration, the head's included, whatever it is named
    # Run the upgrade from the unpacked wheel alone (not this checkout).
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    url = f"sqlite+aiosqlite:///{tmp_path / 'installed.db'}"
    result = _db(tmp_path, url, "upgrade", pythonpath=str(site))
    assert result.returncode == 0, result.stderr
    assert f"revision {head_revision()}" in result.stdout
    located = subprocess.run(
        [sys.executable, "-c", "import app; print(app.__file__)"],
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.startswith(str(site))
