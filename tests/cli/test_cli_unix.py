"""The command line behaves like a Unix tool: exit codes, stderr, pipes, the store it reads."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import EXIT_BROKEN_PIPE, main
from app.config import get_settings
from tests.cli.conftest import cli_env
from tests.conftest import FIXTURES, ROOT

BUNDLES = FIXTURES / "bundles"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """`benzo-cds ARGS` in this process (fast): exit code, stdout and stderr, in tmp_path."""

    def runner(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(tmp_path)
        for name in list(os.environ):
            if name.startswith("BENZO_CDS_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse usage errors
            code = int(exited.code or 0)
        finally:
            get_settings.cache_clear()
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return runner


def _clean_failure(result: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "23/11/2026"])
def test_evaluate_bad_date_is_a_usage_error(run_cli: Run, value: str) -> None:
    result = run_cli("evaluate", str(BUNDLES), "--date", value)
    _clean_failure(result, 2, "--date", repr(value))
    assert result.stdout == ""


def test_evaluate_missing_folder(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("evaluate", str(tmp_path / "nowhere"))
    _clean_failure(result, 2, f"benzo-cds evaluate: {tmp_path / 'nowhere'} does not exist")
    assert result.stdout == ""


def test_evaluate_file_instead_of_folder_and_empty_folder(run_cli: Run, tmp_path: Path) -> None:
    _clean_failure(run_cli("evaluate", str(BUNDLES / "manifest.csv")), 2, "is not a directory")
    (tmp_path / "empty").mkdir()
    _clean_failure(run_cli("evaluate", str(tmp_path / "empty")), 2, "no FHIR bundles (*.json)")


def test_bundles_without_a_patient_fail_the_run_but_are_reported(
    run_cli: Run, tmp_path: Path
) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    shutil.copy(BUNDLES / "pt-overlap.json", folder)
    bundle = json.loads((BUNDLES / "pt-moud.json").read_text())
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    (folder / "no-patient.json").write_text(json.dumps(bundle))
    (folder / "not-json.json").write_text("{oops")
    (folder / "a-list.json").write_text("[]")
    result = run_cli("evaluate", str(folder), "--date", "2026-11-23", "--json")
    _clean_failure(result, 1, "3 of 4 files could not be evaluated")
    rows = {row["file"]: row for row in json.loads(result.stdout)["patients"]}
    assert rows["no-patient.json"]["error"] == "bundle has no Patient"
    assert rows["a-list.json"]["error"] == "not a FHIR Bundle"
    assert "error" in rows["not-json.json"]
    assert {c["rule"] for c in rows["pt-overlap.json"]["cards"]} == {
        "opioid-benzodiazepine-overlap",
        "taper-plan",
    }
    table = run_cli("evaluate", str(folder), "--date", "2026-11-23")
    assert table.returncode == 1 and "3 unreadable" in table.stdout


def test_evaluate_good_folder_exits_0(run_cli: Run) -> None:
    result = run_cli("evaluate", str(BUNDLES), "--date", "2026-11-23")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def _pipeline(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = f'{command}; echo "status=${{PIPESTATUS[0]}}" >&2'
    return subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=cli_env(tmp_path / "c.db"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_into_head_ends_quietly(tmp_path: Path) -> None:
    python = f"{sys.executable} -m app.cli"
    result = _pipeline(
        f"{python} evaluate {BUNDLES} --date 2026-11-23 --json | head -n 2", tmp_path
    )
    assert result.stdout.splitlines()[0] == "{"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] in ("status=0", f"status={EXIT_BROKEN_PIPE}")


def test_reader_gone_before_the_output_is_quiet(tmp_path: Path) -> None:
    # The reader closes before anything is written: the write itself meets a broken pipe.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "evaluate",
            str(BUNDLES),
            "--date",
            "2026-11-23",
            "--json",
        ],
        cwd=tmp_path,
        env=cli_env(tmp_path / "c.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == ""


# --------------------------------------------------------------------------- feedback-report


def _issued(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("SELECT count(*) FROM issued_cards").fetchone()[0])


def test_report_names_the_store_it_reads(
    run_cli: Run, tmp_path: Path, make_client: Callable[..., Any]
) -> None:
    db = tmp_path / "feedback.db"
    client = make_client(database_url=f"sqlite+aiosqlite:///{db}")
    request = json.loads((FIXTURES / "hooks" / "patient-view-overlap.json").read_text())
    assert client.post("/cds-services/benzo-safety-patient-view", json=request).json()["cards"]
    url = f"sqlite+aiosqlite:///{db}"
    # Issued cards are written behind the answer (BENZO_CDS_CARD_WRITE_DELAY_MS); the report
    # runs in this process at once, so wait for the batch as a second command would.
    deadline = time.monotonic() + 5
    while _issued(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    text = run_cli("feedback-report", BENZO_CDS_DATABASE_URL=url)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"Feedback store: {url} ({db})"
    rows = text.stdout.splitlines()
    assert any(line.startswith("opioid-benzodiazepine-overlap") for line in rows)
    as_json = run_cli("feedback-report", "--json", BENZO_CDS_DATABASE_URL=url)
    assert as_json.returncode == 0 and f"feedback store {url}" in as_json.stderr
    assert {row["rule_id"] for row in json.loads(as_json.stdout)} >= {"taper-plan"}


def test_report_on_a_missing_sqlite_file_says_where_it_looked(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("feedback-report", BENZO_CDS_DATABASE_URL="sqlite+aiosqlite:///./benzo_cds.db")
    _clean_failure(
        result, 1, f"no feedback database at {tmp_path / 'benzo_cds.db'}", "BENZO_CDS_DATABASE_URL"
    )
    assert not (tmp_path / "benzo_cds.db").exists()  # no empty store made by looking


def test_report_on_an_unreachable_server_hides_credentials(run_cli: Run) -> None:
    url = "postgresql+asyncpg://cds_user:s3cret-pw@127.0.0.1:9/benzo?password=other-s3cret"
    result = run_cli("feedback-report", BENZO_CDS_DATABASE_URL=url)
    _clean_failure(result, 1, "postgresql+asyncpg://127.0.0.1:9/benzo")
    assert "s3cret" not in result.stderr + result.stdout
    assert "cds_user" not in result.stderr + result.stdout


def test_review_bad_date_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli(
        "review", "--fhir-server", "http://127.0.0.1:9/r4", "--patient", "x", "--date", "soon"
    )
    _clean_failure(result, 2, "--date 'soon' is not a date")


def test_settings_that_cannot_be_read_stop_every_command(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BENZO_CDS_SNOOZE_DAYS=ninety\n")
    result = run_cli("evaluate", str(BUNDLES))
    _clean_failure(result, 2, "benzo-cds evaluate: BENZO_CDS_SNOOZE_DAYS: Input should be")
    assert str(ROOT) not in result.stderr


def test_evaluate_latest_reads_past_an_entry_that_is_no_resource(
    run_cli: Run, tmp_path: Path
) -> None:
    # `--date latest` looks for the newest clinical date; an entry whose resource is a list or
    # a string is passed over there, as everywhere else, not a crash of the whole run.
    folder = tmp_path / "bundles"
    folder.mkdir()
    bundle = json.loads((BUNDLES / "pt-overlap.json").read_text())
    bundle["entry"] += [{"resource": ["not", "a", "resource"]}, {"resource": "2026-12-01"}]
    (folder / "odd-entries.json").write_text(json.dumps(bundle))
    shutil.copy(BUNDLES / "pt-overlap.json", folder)
    latest = run_cli("evaluate", str(folder), "--date", "latest", "--json")
    assert latest.returncode == 0, latest.stderr
    rows = {row["file"]: row for row in json.loads(latest.stdout)["patients"]}
    assert rows["odd-entries.json"]["cards"] == rows["pt-overlap.json"]["cards"]
