"""The reading pass: byte ranges of a large plain file read every line exactly once, and the
way an export is cut into tasks does not change how its lines are grouped."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.bulk import partition
from app.bulk.files import list_export, read_blocks
from app.bulk.partition import (
    bucket_files,
    choose_buckets,
    group_bucket,
    iter_buckets,
    partition_task,
    plan_tasks,
)
from app.bulk.route import quick_block, quick_patient
from bench.bulk_export import write_export
from tests.bulk.export import MessyExport


def _lines(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [
        orjson.dumps(
            {"resourceType": "Condition", "id": f"c{i}", "note": "é" * rng.randint(0, 300)}
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("task_bytes", [37, 1000, 4096, 10**9])
def test_byte_ranges_read_every_line_once(
    tmp_path: Path, task_bytes: int, final_newline: bool
) -> None:
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


def test_cutting_files_into_ranges_groups_the_same_lines(
    messy: MessyExport, tmp_path: Path
) -> None:
    whole = _grouped(messy.folder, tmp_path / "whole", 10**9)
    cut = _grouped(messy.folder, tmp_path / "cut", 20_000)
    assert len(plan_tasks(list_export(messy.folder), 20_000)) > 2 * len(
        list_export(messy.folder).files
    )  # the plain files were really cut
    assert cut == whole
    assert set(whole) == set(messy.patients)


def test_tasks_are_planned_largest_first_counting_gzip_as_inflated(messy: MessyExport) -> None:
    tasks = plan_tasks(list_export(messy.folder))
    inflated = [t.size * (8 if t.path.name.endswith(".gz") else 1) for t in tasks]
    assert inflated == sorted(inflated, reverse=True)
    assert sorted(t.index for t in tasks) == list(range(len(tasks)))


def _bucket_bytes(folder: Path, work: Path) -> dict[str, bytes]:
    work.mkdir()
    listing = list_export(folder)
    for task in plan_tasks(listing, 200_000):
        partition_task(task, work, choose_buckets(listing))
    return {p.name: p.read_bytes() for p in sorted(work.iterdir())}


def test_block_routing_writes_what_line_routing_writes(
    messy: MessyExport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bucket files byte for byte, on a clean generated export (blocks placed whole) and the
    messy one (blocks with bad lines fall back), against routing every line on its own."""
    clean = write_export(tmp_path / "clean", 60, seed=3, files=1, jobs=1)
    blocks = [
        b
        for f in list_export(clean).files
        if f.resource_type != "Patient"
        for b in read_blocks(f.path)
    ]
    assert all(quick_block(b) is not None for b in blocks)  # the fast path is what is tested
    fast = {
        name: _bucket_bytes(folder, tmp_path / f"fast-{name}")
        for name, folder in (("clean", clean), ("messy", messy.folder))
    }
    monkeypatch.setattr(partition, "quick_block", lambda block: None)
    for name, folder in (("clean", clean), ("messy", messy.folder)):
        assert _bucket_bytes(folder, tmp_path / f"slow-{name}") == fast[name]


_SUBJECTS = st.sampled_from(
    [
        b'"subject":{"reference":"Patient/p-1"}',
        b'"subject":{"reference":"Patient/p.2"}',
        b'"subject":{"reference":"Patient/bad id"}',
        b'"subject":{"display":"x"}',
        b'"subject":{"reference":"Patient/p-3"},"patient":{"reference":"Patient/p-4"}',
        b'"subject":{"reference":"Patient/p-5"},"note":"subject"',
        b'"subject":{"reference":"Patient/p-6"},"x":{"subject":{"reference":"Patient/p-7"}}',
        b'"contained":[],"subject":{"reference":"Patient/p-8"}',
        b'"subject":{"reference":"Patient/p-9',
        b'"code":{"text":"patient"}',
        b"",
    ]
)
_LINES = st.builds(
    lambda subject: b'{"resourceType":"Condition",' + subject + b',"id":"c"}', _SUBJECTS
)


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(_LINES, max_size=6),
    pad=st.sampled_from([b"", b" ", b"\r"]),
    padded=st.integers(0, 5),
    blank=st.booleans(),
    final_newline=st.booleans(),
)
def test_quick_block_answers_as_quick_patient_line_by_line(
    lines: list[bytes], pad: bytes, padded: int, blank: bool, final_newline: bool
) -> None:
    if padded < len(lines):
        lines[padded] = pad + lines[padded] + pad
    block = b"\n".join(lines + ([b""] if blank and lines else []))
    block += b"\n" if final_newline and block else b""
    found = quick_block(block)
    if found is None:
        return  # the caller routes the block line by line: quick_patient itself
    expected = [line for line in block.split(b"\n") if line.strip()]
    assert [block[start:end] for start, end, _ in found] == expected
    assert [key for _, _, key in found] == [quick_patient(line) for line in expected]


def test_quick_block_takes_the_common_case_and_leaves_the_rest() -> None:
    lines = [
        b'{"resourceType":"Condition","id":"c%d","subject":{"reference":"Patient/p%d"}}' % (i, i)
        for i in range(3)
    ]
    block = b"\n".join(lines) + b"\n"
    starts = [block.index(line) for line in lines]
    assert quick_block(block) == [
        (s, s + len(line), b"p%d" % i)
        for i, (s, line) in enumerate(zip(starts, lines, strict=True))
    ]
    twice = lines[0][:-1] + b',"x":{"subject":{"reference":"Patient/q"}}}'
    assert quick_block(b"\n".join([lines[1], twice])) is None  # a line with two subjects
    also = lines[0][:-1] + b',"patient":{"reference":"Patient/r"}}'
    assert quick_block(b"\n".join([lines[1], also])) is None  # a patient key too
    assert quick_block(lines[0] + b"\r\n") is None  # not compact: line by line
