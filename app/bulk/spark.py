"""The Spark engine: the same per-patient function, for exports that outgrow one machine.

Spark reads the NDJSON (gzip by file name, as Hadoop does), keys every line with the local
engine's `route_line`, joins referenced Medication resources to their patients, groups by
patient and runs `evaluate_patient` in `mapPartitions`. Rows stream back to the driver, which
writes the same CSV and report as the local engine. PySpark is an optional extra
(``pip install '.[spark]'``); `master` defaults to local mode on all cores.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

import orjson

from app.bulk.files import ExportListing
from app.bulk.patient import RunOptions, evaluate_or_report
from app.bulk.progress import Progress
from app.bulk.route import ReadStats, route_line
from app.fhir.bundles import medication_reference

_MEDICATION_ID = b"Medication/"


class _Medications:
    """The Medication resources joined to one patient, by id."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        for line in lines:
            resource = orjson.loads(line)
            self.by_id.setdefault(resource["id"], resource)

    def get(self, rid: str) -> dict[str, Any] | None:
        return self.by_id.get(rid)


def _route_partition(pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    """('p', (patient, line)), ('m', (id, line)), ('ref', (medication id, patient)) per line,
    and one ('stats', ReadStats) per partition."""
    stats = ReadStats()
    for file_type, text in pairs:
        line = text.strip().encode()
        if not line:
            continue
        stats.lines += 1
        routed = route_line(line, file_type, stats)
        if routed is None:
            continue
        tag, key = routed
        yield tag, (key.decode(), line)
        if tag == "p" and b'"medicationReference"' in line:
            ref = medication_reference(orjson.loads(line)) or ""
            if _MEDICATION_ID in ref.encode():
                rid = ref.rsplit("Medication/", 1)[1].split("/", 1)[0]
                yield "ref", (rid, key.decode())
    yield "stats", stats


def _evaluate_partition(
    options: RunOptions, items: Iterable[tuple[str, Iterable[tuple[str, bytes]]]]
) -> Iterator[tuple[str, Any]]:
    stats = ReadStats()
    for patient_id, values in items:
        lines: list[bytes] = []
        meds: list[bytes] = []
        for kind, line in values:
            (meds if kind == "M" else lines).append(line)
        row = evaluate_or_report(patient_id, lines, _Medications(meds), options, stats)
        if row is not None:
            yield "row", row
    yield "stats", stats


def _typed_line(file_type: str, text: str) -> tuple[str, str]:
    """A line keyed by its file's type (bound per file with partial: a typed, picklable map)."""
    return file_type, text


def _merge(left: ReadStats, right: ReadStats) -> ReadStats:
    return left.merge(right)


def evaluate_with_spark(
    listing: ExportListing,
    options: RunOptions,
    sink: Any,
    stats: ReadStats,
    *,
    workers: int,
    progress: Progress,
    master: str | None = None,
) -> None:
    """Evaluate the export on Spark; rows go to `sink`, counts into `stats`."""
    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines outlive pytest's streams
    # Workers must run this interpreter (the one with the app installed), not `python3`.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master or f"local[{workers}]")
        .appName("benzo-cds-dry-run")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", str(progress.enabled).lower())
        .getOrCreate()
    )
    try:
        sc = spark.sparkContext
        sc.setLogLevel("ERROR")
        texts = sc.union(
            [
                sc.textFile(str(f.path), minPartitions=1).map(partial(_typed_line, f.resource_type))
                for f in listing.files
            ]
        )
        routed = texts.mapPartitions(_route_partition).persist()
        read = routed.filter(lambda kv: kv[0] == "stats").map(lambda kv: kv[1])
        if not read.isEmpty():
            stats.merge(read.treeReduce(_merge))
        chart = routed.filter(lambda kv: kv[0] == "p").map(lambda kv: (kv[1][0], ("R", kv[1][1])))
        meds = routed.filter(lambda kv: kv[0] == "m").map(lambda kv: kv[1])
        refs = routed.filter(lambda kv: kv[0] == "ref").map(lambda kv: kv[1]).distinct()
        # Medication lines: the first copy of an id, as the local engine's index keeps.
        joined = refs.join(meds.reduceByKey(lambda a, _b: a)).map(
            lambda kv: (kv[1][0], ("M", kv[1][1]))
        )
        partitions = max(workers * 4, sc.defaultParallelism)
        grouped = chart.union(joined).groupByKey(partitions)
        results = grouped.mapPartitions(lambda items: _evaluate_partition(options, items))
        for kind, value in results.toLocalIterator(prefetchPartitions=True):
            if kind == "row":
                sink.add([value])
            else:
                stats.merge(value)
        routed.unpersist()
    finally:
        spark.stop()
