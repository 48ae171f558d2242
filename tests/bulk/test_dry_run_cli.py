"""`benzo-cds evaluate EXPORT` exit codes: 0 done, 1 some patients failed (counted, named by
code line, never by patient), 2 bad arguments; any other error is a bug and shows as one."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import app.bulk.patient
import app.bulk.run
import app.cli.bulk
from app.bulk.run import CSV_NAME, HTML_NAME, JSON_NAME, BadArgument, dry_run
from app.cli.main import main
from tests.bulk.conftest import settings
from tests.bulk.export import MessyExport
from tests.conftest import EVALUATION_DATE


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The CLI in this process (one worker runs in-process), with the tests' settings."""
    monkeypatch.setattr(app.cli.bulk, "get_settings", settings)
    monkeypatch.chdir(tmp_path)

    def run(folder: Path, *args: str) -> int:
        try:
            return main(
                [
                    "evaluate",
                    str(folder),
                    "--out",
                    str(tmp_path / "out"),
                    "--date",
                    EVALUATION_DATE.isoformat(),
                    *args,
                ]
            )
        except SystemExit as stop:  # argparse refuses some arguments by exiting, as the CLI does
            return int(stop.code or 0)

    return run


def test_a_patient_that_raises_is_counted_and_the_run_goes_on(
    messy: MessyExport,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    victims = sorted(messy.patients)[3:5]
    real = app.bulk.patient.rule_verdicts

    def buggy(record: Any, chosen: Any) -> Any:
        if record.patient_id in victims:  # the message quotes patient data, as real ones may
            raise RuntimeError(f"cannot handle {record.patient_id}")
        return real(record, chosen)

    monkeypatch.setattr(app.bulk.patient, "rule_verdicts", buggy)
    assert cli(messy.folder, "--workers", "1", "--reveal-ids") == 1
    out, err = capsys.readouterr()
    assert "2 patients could not be evaluated" in err
    assert "RuntimeError at app/bulk/patient.py:" in err
    written = "".join((tmp_path / "out" / name).read_text() for name in (HTML_NAME, JSON_NAME))
    assert "cannot handle" not in out + err + written
    with (tmp_path / "out" / CSV_NAME).open(newline="") as handle:
        rows = {row["patient"]: row for row in csv.DictReader(handle)}
    assert len(rows) == len(messy.patients) - 1  # the orphan has no Patient
    assert {p for p, row in rows.items() if row["error"]} == set(victims)
    assert all(
        rows[p]["error"].startswith("RuntimeError at app/bulk/patient.py:")
        and rows[p]["cards"] == ""
        for p in victims
    )
    summary = json.loads((tmp_path / "out" / JSON_NAME).read_text())
    assert summary["summary"]["patients"] == len(rows) - 2
    assert summary["summary"]["patients_failed"] == 2
    assert sum(summary["reading"]["failed_patients"].values()) == 2
    assert "2 patients could not be evaluated" in (tmp_path / "out" / HTML_NAME).read_text()


def test_an_error_outside_any_patient_is_a_bug_with_its_traceback(
    messy: MessyExport, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path) -> Any:
        raise ValueError("too many values to unpack (expected 2)")

    monkeypatch.setattr(app.bulk.run, "list_export", broken)
    with pytest.raises(ValueError, match="too many values"):
        cli(messy.folder, "--workers", "1")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--date", "2026-13-01"), "2026-13-01"),
        (("--workers", "0"), "--workers"),
    ],
)
def test_bad_arguments_exit_2_naming_them(
    messy: MessyExport,
    cli: Any,
    args: tuple[str, ...],
    says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(messy.folder, *args) == 2
    assert says in capsys.readouterr().err


def test_the_python_entry_refuses_a_bad_date_before_reading(
    messy: MessyExport, tmp_path: Path
) -> None:
    with pytest.raises(BadArgument, match="2026-13-01"):
        dry_run(messy.folder, tmp_path / "out", settings=settings(), date_arg="2026-13-01")
    assert not (tmp_path / "out").exists()


def test_a_missing_spark_install_exits_2(
    messy: MessyExport,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as when not installed
    assert cli(messy.folder, "--engine", "spark") == 2
    assert "pip install 'benzo-safety-cds[spark]'" in capsys.readouterr().err


@pytest.mark.parametrize("output", [5, True, "files", {"url": "x"}])
def test_a_hand_edited_manifest_is_read_by_file_names(
    cli: Any, messy: MessyExport, tmp_path: Path, output: object
) -> None:
    # Bulk FHIR's manifest.json lists `output` as an array; anything else is ignored, not fatal.
    folder = tmp_path / "export"
    folder.mkdir()
    for path in messy.folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    assert cli(folder, "--workers", "1") == 0
    without = (tmp_path / "out" / CSV_NAME).read_bytes()
    (folder / "manifest.json").write_text(json.dumps({"output": output}))
    assert cli(folder, "--workers", "1") == 0
    assert (tmp_path / "out" / CSV_NAME).read_bytes() == without
