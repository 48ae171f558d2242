"""The reading pass: byte ranges of a large plain file read every line exactly once, and the
way an export is cut into tasks does not change how its lines are grouped."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from app.bulk.files import list_export, read_blocks
from app.bulk.partition import (
    bucket_files,
    choose_buckets,
    group_bucket,
    iter_buckets,
    partition_task,
    plan_tasks,
)
from tests.bulk.export import MessyExport


def _lines(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [orjson.dumps({"resourceType": "Condition", "id": f"c{i}",
                          "note": "é" * rng.randint(0, 300)}) for i in range(count)]


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("task_bytes", [37, 1000, 4096, 10**9])
def test_byte_ranges_read_every_line_once(tmp_path: Path, task_bytes: int,
                                          final_newline: bool) -> None:
    lines = _lines(400, task_bytes)
    path = tmp_path / "Condition.ndjson"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
    size = path.stat().st_size
    read: list[bytes] = []
    for start in range(0, size, task_bytes):
        for block in read_blocks(path, start, min(start + task_bytes, size), block=13):
            assert block.endswith((b"\n", lines[-1]))  # whole lines only
            read += [line for line in block.split(b"\n") if line]
    assert read == lines


def _grouped(folder: Path, work: Path, task_bytes: int) -> dict[str, list[bytes]]:
    work.mkdir()
    listing = list_export(folder)
    buckets = choose_buckets(listing)
    tasks = plan_tasks(listing, task_bytes)
    for task in tasks:
        partition_task(task, work, buckets)
    groups: dict[str, list[bytes]] = {}
    for bucket in iter_buckets(work, buckets):
        groups.update(group_bucket(bucket_files(work, bucket)))
    return groups


def test_cutting_files_into_ranges_groups_the_same_lines(messy: MessyExport,
                                                        tmp_path: Path) -> None:
    whole = _grouped(messy.folder, tmp_path / "whole", 10**9)
    cut = _grouped(messy.folder, tmp_path / "cut", 20_000)
    assert len(plan_tasks(list_export(messy.folder), 20_000)) > 2 * len(
        list_export(messy.folder).files)  # the plain files were really cut
    assert cut == whole
    assert set(whole) == set(messy.patients)


def test_tasks_are_planned_largest_first_counting_gzip_as_inflated(messy: MessyExport) -> None:
    tasks = plan_tasks(list_export(messy.folder))
    inflated = [t.size * (8 if t.path.name.endswith(".gz") else 1) for t in tasks]
    assert inflated == sorted(inflated, reverse=True)
    assert sorted(t.index for t in tasks) == list(range(len(tasks)))
