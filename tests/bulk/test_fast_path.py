"""The dry run's fast path gives the results of the straightforward one.

Fast: rules give verdicts without building cards (app/cards/verdicts.py). Straightforward:
`--no-shortcuts`, every card built in full as the hook builds it. Both through `benzo-cds
evaluate` on generated exports with the population mix (most patients on no sedative) and with
everyone on everything.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from bench.bulk_export import write_export
from tests.conftest import EVALUATION_DATE

# Rows of the report's run table that differ between any two runs.
_TIMING_ROWS = re.compile(r"<tr><td>(generated|seconds[^<]*)</td><td>[^<]*</td></tr>")


def _outputs(out: Path) -> tuple[bytes, dict[str, object], str]:
    report = json.loads((out / "dry-run.json").read_text())
    html = _TIMING_ROWS.sub("", (out / "dry-run.html").read_text())
    return (out / "dry-run.csv").read_bytes(), {k: report[k] for k in ("summary", "reading")}, html


@pytest.mark.parametrize(("mix", "patients"), [("population", 400), ("all", 60)])
def test_fast_path_equals_straightforward_path(
    mix: str, patients: int, tmp_path: Path, run_cli: Callable[..., CompletedProcess[str]]
) -> None:
    export = write_export(tmp_path / "export", patients, seed=1717, mix=mix, files=2, jobs=1)
    runs = {}
    for name, extra in (("fast", ()), ("straightforward", ("--no-shortcuts",))):
        result = run_cli(
            "evaluate",
            str(export),
            "--out",
            str(tmp_path / name),
            "--date",
            EVALUATION_DATE.isoformat(),
            "--workers",
            "2",
            *extra,
        )
        assert result.returncode == 0, result.stderr
        runs[name] = _outputs(tmp_path / name)
    fast, straightforward = runs["fast"], runs["straightforward"]
    assert fast[0] == straightforward[0]  # CSV, byte for byte
    assert fast[1] == straightforward[1]  # JSON figures and reading counts
    assert fast[2] == straightforward[2]  # the report, but for its timings
    with (tmp_path / "fast" / "dry-run.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == patients
    with_cards = sum(1 for row in rows if row["cards"] != "0")
    # The comparison is about cards: the export has patients with and without them.
    assert 0 < with_cards < patients if mix == "population" else with_cards > patients // 2
