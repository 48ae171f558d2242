"""The Spark engine (local mode) gives exactly the single-machine results on the same export."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from app.bulk.progress import Progress
from app.bulk.run import CSV_NAME, JSON_NAME, DryRun, dry_run
from tests.bulk.conftest import settings
from tests.bulk.export import MessyExport
from tests.conftest import EVALUATION_DATE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="PySpark not installed (pip install -e '.[spark]'; CI installs it)",
    ),
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime for Spark"),
]


def _sorted_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: row["patient"])


def test_spark_results_equal_the_local_run(
    messy: MessyExport, local_run: DryRun, tmp_path: Path
) -> None:
    spark_run = dry_run(
        messy.folder,
        tmp_path,
        settings=settings(),
        engine="spark",
        date_arg=EVALUATION_DATE.isoformat(),
        reveal_ids=True,
        workers=2,
        progress=Progress(enabled=False),
    )
    local_rows = _sorted_rows(local_run.out / CSV_NAME)
    spark_rows = _sorted_rows(spark_run.out / CSV_NAME)
    assert len(local_rows) == len(messy.patients) - 1
    assert spark_rows == local_rows
    local_json = json.loads((local_run.out / JSON_NAME).read_text())
    spark_json = json.loads((spark_run.out / JSON_NAME).read_text())
    assert spark_json["summary"] == local_json["summary"]
    assert spark_json["reading"] == local_json["reading"]
    assert spark_json["run"]["engine"] == "spark"
