"""Group an export's lines by patient on disk: hash partitions that each fit in memory.

Each read task streams one file (or one byte range of a large plain file) and writes every
line, as ``<patient id>\\t<line>``, to its patient's bucket: a segment of the task's file
``p.t<task>``, listed in ``p.t<task>.idx``. A bucket is later read whole and grouped in
memory, so memory depends on the bucket size, never on the export's. Medication lines (a
formulary, shared by patients) go to ``m.t<task>`` for app/bulk/medications.py to index.

This pass touches every byte of the export once, so it is written for speed: blocks of whole
lines instead of one read per line, a byte search for the patient instead of a parse
(app/bulk/route.py), and each task's output buffered and written a few MiB at a time, one
write per bucket per flush, all into the task's one file (small appends, each opening its
file, were half of the pass; a file per bucket and task, each one created, cost 0.25-1.7 ms of
kernel time apiece on a busy VM).
"""

from __future__ import annotations

import math
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.bulk.files import ExportListing, read_blocks
from app.bulk.route import QUICK_TYPES, ReadStats, quick_block, quick_patient, route_parsed

TARGET_BUCKET_BYTES = 32 * 1024 * 1024  # raw NDJSON per bucket: memory per worker stays small
MIN_BUCKETS = 32  # work to share among up to 32 workers, small exports too
TASK_BYTES = 64 * 1024 * 1024  # large plain files are read in ranges of this size
GZIP_RATIO = 8  # NDJSON compresses about 8x: sizes buckets for .gz
FLUSH_BYTES = 8 * 1024 * 1024  # a task's buffered output before it is written
_MEDICATIONS = -1  # the buffer of Medication lines (file m.t<task>)


@dataclass(frozen=True)
class ReadTask:
    index: int
    path: Path
    resource_type: str
    start: int = 0
    end: int | None = None
    size: int = 0  # bytes this task reads from disk, for progress


def plan_tasks(listing: ExportListing, task_bytes: int = TASK_BYTES) -> list[ReadTask]:
    """One task per file, large plain files split into byte ranges (gzip cannot be split);
    largest first, so no big task starts last while the other workers sit idle."""
    tasks: list[tuple[int, ReadTask]] = []  # (bytes of NDJSON it reads, task)
    for export_file in listing.files:
        if export_file.compressed or export_file.size <= task_bytes:
            raw = export_file.size * (GZIP_RATIO if export_file.compressed else 1)
            tasks.append(
                (
                    raw,
                    ReadTask(
                        len(tasks),
                        export_file.path,
                        export_file.resource_type,
                        size=export_file.size,
                    ),
                )
            )
            continue
        for start in range(0, export_file.size, task_bytes):
            end = min(start + task_bytes, export_file.size)
            tasks.append(
                (
                    end - start,
                    ReadTask(
                        len(tasks),
                        export_file.path,
                        export_file.resource_type,
                        start,
                        end,
                        end - start,
                    ),
                )
            )
    return [task for _, task in sorted(tasks, key=lambda item: (-item[0], item[1].index))]


def choose_buckets(listing: ExportListing) -> int:
    """Enough buckets that each holds about TARGET_BUCKET_BYTES, and at least MIN_BUCKETS.

    The count depends on the export only, never on the number of workers: rows come out in
    bucket order, so one export gives the same CSV on any machine.
    """
    raw = sum(f.size * (GZIP_RATIO if f.compressed else 1) for f in listing.files)
    return max(MIN_BUCKETS, math.ceil(raw / TARGET_BUCKET_BYTES))


class _Outputs:
    """A task's output: one file, ``p.t<task>``, of bucket segments, each flush writing one
    segment per bucket, and its index, ``p.t<task>.idx``: (bucket, offset, length) triples.

    One file per task, not per bucket and task: creating a file cost 0.25-1.7 ms of kernel
    time on the shared VM's ext4, and an export of 100,000 patients had 76 tasks x 117
    buckets of them. Medication lines (a formulary) go to ``m.t<task>`` as before.
    """

    def __init__(self, workdir: Path, task: int) -> None:
        self.workdir, self.task = workdir, task
        self.path = workdir / f"p.t{task:05d}"
        self.handle = self.path.open("wb")
        self.offset = 0
        self.index = array("q")
        self.medications: BinaryIO | None = None

    def write(self, buffers: dict[int, list[bytes | memoryview]]) -> None:
        for bucket, records in buffers.items():
            # One write of the joined records: writelines() of ~1 KiB items cost 2.5x more.
            chunk = b"".join(records)
            if bucket == _MEDICATIONS:
                if self.medications is None:
                    self.medications = (self.workdir / f"m.t{self.task:05d}").open("ab")
                self.medications.write(chunk)
                continue
            self.handle.write(chunk)
            self.index.extend((bucket, self.offset, len(chunk)))
            self.offset += len(chunk)
        buffers.clear()

    def close(self) -> None:
        self.handle.close()
        if self.medications is not None:
            self.medications.close()
        self.path.with_name(self.path.name + ".idx").write_bytes(self.index.tobytes())


class _Buffers:
    """A task's records by bucket, written out a few MiB at a time."""

    def __init__(self, outputs: _Outputs) -> None:
        self.outputs = outputs
        self.by_bucket: dict[int, list[bytes | memoryview]] = {}
        self.size = 0

    def add(self, bucket: int, *parts: bytes | memoryview) -> None:
        if bucket in self.by_bucket:
            self.by_bucket[bucket] += parts
        else:
            self.by_bucket[bucket] = list(parts)

    def grew(self, size: int) -> None:
        self.size += size
        if self.size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        self.outputs.write(self.by_bucket)
        self.size = 0


def _route_lines(block: bytes, quick: bool, buckets: int, out: _Buffers, stats: ReadStats) -> int:
    """Each line of the block to its bucket, one at a time; returns the lines read."""
    lines = 0
    for raw in block.split(b"\n"):
        line = raw.strip()
        if not line:
            continue
        lines += 1
        key = quick_patient(line) if quick else None
        if key is None:
            routed = route_parsed(line, stats)
            if routed is None:
                continue
            tag, key = routed
            bucket = _MEDICATIONS if tag == "m" else zlib.crc32(key) % buckets
        else:
            bucket = zlib.crc32(key) % buckets
        out.add(bucket, key, b"\t", line, b"\n")
    return lines


def _route_quick(
    block: bytes,
    found: list[tuple[int, int, bytes | None]],
    buckets: int,
    out: _Buffers,
    stats: ReadStats,
) -> None:
    """A block `quick_block` placed: each line goes out as a view of the block, not a copy."""
    view, crc32 = memoryview(block), zlib.crc32
    for start, end, key in found:
        if key is None:
            routed = route_parsed(block[start:end], stats)
            if routed is None:
                continue
            tag, key = routed
            bucket = _MEDICATIONS if tag == "m" else crc32(key) % buckets
        else:
            bucket = crc32(key) % buckets
        # The line with its newline; the file's last line may lack one.
        if end < len(block):
            out.add(bucket, key, b"\t", view[start : end + 1])
        else:
            out.add(bucket, key, b"\t", view[start:end], b"\n")


def partition_task(task: ReadTask, workdir: Path, buckets: int) -> ReadStats:
    """Read one task's lines into bucket files; a bad line is counted and skipped."""
    stats = ReadStats()
    quick = task.resource_type in QUICK_TYPES
    outputs = _Outputs(workdir, task.index)
    out = _Buffers(outputs)
    try:
        for block in read_blocks(task.path, task.start, task.end):
            found = quick_block(block) if quick else None
            if found is None:
                stats.lines += _route_lines(block, quick, buckets, out, stats)
            else:
                stats.lines += len(found)
                _route_quick(block, found, buckets, out, stats)
            out.grew(len(block))
        out.flush()
    finally:
        outputs.close()
    return stats


Segment = tuple[Path, int, int]  # a task's file, offset, length: one bucket's lines in it


def bucket_index(workdir: Path) -> dict[int, list[Segment]]:
    """Every bucket's segments, in task order and, within a task, in the order written (the
    order the lines were read in)."""
    index: dict[int, list[Segment]] = {}
    for path in sorted(workdir.glob("p.t*.idx")):
        triples = array("q")
        triples.frombytes(path.read_bytes())
        data = path.with_name(path.name.removesuffix(".idx"))
        for at in range(0, len(triples), 3):
            bucket, offset, length = triples[at : at + 3]
            index.setdefault(bucket, []).append((data, offset, length))
    return index


def bucket_files(workdir: Path, bucket: int) -> list[Segment]:
    """One bucket's segments (every reader of a whole run keeps `bucket_index` instead)."""
    return bucket_index(workdir).get(bucket, [])


def group_bucket(segments: Iterable[Segment]) -> dict[str, list[bytes]]:
    """Lines of one bucket by patient id, in the order read."""
    groups: dict[bytes, list[bytes]] = {}
    get = groups.get
    handles: dict[Path, BinaryIO] = {}
    try:
        for path, offset, length in segments:
            handle = handles.get(path)
            if handle is None:
                handle = handles[path] = path.open("rb")
            handle.seek(offset)
            records = handle.read(length).split(b"\n")
            records.pop()  # every record ends with a newline: the last piece is empty
            for record in records:
                patient, _, line = record.partition(b"\t")
                lines = get(patient)
                if lines is None:
                    groups[patient] = [line]
                else:
                    lines.append(line)
    finally:
        for handle in handles.values():
            handle.close()
    # Ids are decoded once per patient, not once per line.
    return {patient.decode(): lines for patient, lines in groups.items()}


def iter_buckets(workdir: Path, buckets: int) -> Iterator[int]:
    """Buckets that received any line."""
    present = bucket_index(workdir)
    return iter(sorted(b for b in range(buckets) if b in present))
