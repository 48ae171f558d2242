"""Group an export's lines by patient on disk: hash partitions that each fit in memory.

Each read task streams one file (or one byte range of a large plain file) and appends every
line to the partition file of its patient, ``b<bucket>.t<task>``, as ``<patient id>\\t<line>``.
A bucket is later read whole and grouped in memory, so memory depends on the bucket size,
never on the export's. Medication resources (a formulary, shared by patients) go to a SQLite
index instead, looked up by id when an order references one.
"""

from __future__ import annotations

import math
import re
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.bulk.files import READ_TYPES, ExportListing, read_lines
from app.fhir.bundles import patient_ids

TARGET_BUCKET_BYTES = 32 * 1024 * 1024   # raw NDJSON per bucket: memory per worker stays small
TASK_BYTES = 64 * 1024 * 1024            # large plain files are read in ranges of this size
GZIP_RATIO = 8                           # NDJSON compresses about 8x: sizes buckets for .gz
_FLUSH_BYTES = 256 * 1024
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR id
MEDICATION_INDEX = "medications.sqlite"


@dataclass
class ReadStats:
    """What was read and what was left out, by count only (no patient data)."""

    lines: int = 0
    # Resources evaluated, by type (counted as patients are evaluated; Medication when indexed)
    resources: Counter[str] = field(default_factory=Counter)
    malformed: int = 0              # not JSON, or not an object with a resourceType
    without_patient: Counter[str] = field(default_factory=Counter)  # no usable patient ref
    other_types: Counter[str] = field(default_factory=Counter)  # types the pipeline reads not
    no_patient_resource: int = 0    # patients with resources but no Patient (not evaluated)

    def merge(self, other: ReadStats) -> ReadStats:
        self.lines += other.lines
        self.resources.update(other.resources)
        self.malformed += other.malformed
        self.without_patient.update(other.without_patient)
        self.other_types.update(other.other_types)
        self.no_patient_resource += other.no_patient_resource
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "resources": dict(sorted(self.resources.items())),
                "malformed_lines": self.malformed,
                "without_patient": dict(sorted(self.without_patient.items())),
                "other_types": dict(sorted(self.other_types.items())),
                "without_patient_resource": self.no_patient_resource}


@dataclass(frozen=True)
class ReadTask:
    index: int
    path: Path
    resource_type: str
    start: int = 0
    end: int | None = None
    size: int = 0   # bytes this task reads from disk, for progress


def plan_tasks(listing: ExportListing, task_bytes: int = TASK_BYTES) -> list[ReadTask]:
    """One task per file; large plain files split into byte ranges (gzip cannot be split)."""
    tasks: list[ReadTask] = []
    for export_file in listing.files:
        if export_file.compressed or export_file.size <= task_bytes:
            tasks.append(ReadTask(len(tasks), export_file.path, export_file.resource_type,
                                  size=export_file.size))
            continue
        for start in range(0, export_file.size, task_bytes):
            end = min(start + task_bytes, export_file.size)
            tasks.append(ReadTask(len(tasks), export_file.path, export_file.resource_type,
                                  start, end, end - start))
    return tasks


def choose_buckets(listing: ExportListing, workers: int) -> int:
    """Enough buckets that each holds about TARGET_BUCKET_BYTES, and a few per worker."""
    raw = sum(f.size * (GZIP_RATIO if f.compressed else 1) for f in listing.files)
    return max(workers * 4, math.ceil(raw / TARGET_BUCKET_BYTES))


_SUBJECT = b'"subject":{"reference":"Patient/'
_ID_BYTES = re.compile(rb"[A-Za-z0-9\-.]{1,64}")


def quick_patient(line: bytes) -> bytes | None:
    """The patient id of a compact line whose only subject is ``{"reference":"Patient/<id>"``.

    Bulk exports write compact JSON, where this is nearly every line: finding it costs a few
    byte searches instead of a parse. A quote cannot appear unescaped inside a JSON string, so
    the match is a real key; with a second "subject" or "patient" key, or contained resources
    (which have their own), the line takes the full parse instead.
    """
    start = line.find(_SUBJECT)
    if start < 0 or line.find(b'"subject"', start + 10) >= 0 \
            or line.find(b'"subject"', 0, start) >= 0 \
            or b'"patient"' in line or b'"contained"' in line:
        return None
    begin = start + len(_SUBJECT)
    end = line.find(b'"', begin)
    candidate = line[begin:end]
    return candidate if end > 0 and _ID_BYTES.fullmatch(candidate) else None


def patient_key_of(resource: dict[str, Any], kind: str) -> str | None:
    """The one patient a resource belongs to: a Patient's id, else its subject/patient."""
    if kind == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and _ID.match(rid) else None
    ids = patient_ids(resource)
    return next(iter(ids)) if len(ids) == 1 else None


class _Writer:
    """Buffered appends to many bucket files without holding them all open."""

    def __init__(self, workdir: Path, task: int) -> None:
        self.workdir, self.task = workdir, task
        self.buffers: dict[str, list[bytes]] = {}
        self.sizes: Counter[str] = Counter()

    def add(self, name: str, data: bytes) -> None:
        self.buffers.setdefault(name, []).append(data)
        self.sizes[name] += len(data)
        if self.sizes[name] >= _FLUSH_BYTES:
            self.flush(name)

    def flush(self, name: str) -> None:
        with (self.workdir / f"{name}.t{self.task:05d}").open("ab") as handle:
            handle.writelines(self.buffers.pop(name))
        self.sizes[name] = 0

    def close(self) -> None:
        for name in list(self.buffers):
            self.flush(name)


def route_line(line: bytes, file_type: str, stats: ReadStats) -> tuple[str, bytes] | None:
    """("p", patient id) or ("m", Medication id) for a line worth keeping; else counted, None.

    A line placed by `quick_patient` is parsed only when its patient is evaluated; one that
    turns out malformed or of another type is counted then (app/bulk/patient.py).
    """
    if file_type not in ("Patient", "Medication"):
        found = quick_patient(line)
        if found is not None:
            return "p", found
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        stats.malformed += 1
        return None
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        stats.malformed += 1
        return None
    if kind not in READ_TYPES:
        stats.other_types[kind if kind.isalpha() and len(kind) <= 40 else "unknown"] += 1
        return None
    if kind == "Medication":
        rid = resource.get("id")
        if isinstance(rid, str) and _ID.match(rid):
            stats.resources[kind] += 1
            return "m", rid.encode()
        stats.without_patient["Medication without id"] += 1
        return None
    patient = patient_key_of(resource, kind)
    if patient is None:
        stats.without_patient[kind] += 1
        return None
    return "p", patient.encode()


def partition_task(task: ReadTask, workdir: Path, buckets: int) -> ReadStats:
    """Read one task's lines into bucket files; a bad line is counted and skipped."""
    stats = ReadStats()
    writer = _Writer(workdir, task.index)
    for raw in read_lines(task.path, task.start, task.end):
        line = raw.strip()
        if not line:
            continue
        stats.lines += 1
        routed = route_line(line, task.resource_type, stats)
        if routed is None:
            continue
        tag, key = routed
        name = "m" if tag == "m" else f"b{zlib.crc32(key) % buckets:05d}"
        writer.add(name, key + b"\t" + line + b"\n")
    writer.close()
    return stats


def bucket_files(workdir: Path, bucket: int) -> list[Path]:
    return sorted(workdir.glob(f"b{bucket:05d}.t*"))


def group_bucket(paths: Iterable[Path]) -> dict[str, list[bytes]]:
    """Lines of one bucket by patient id, in file order."""
    groups: dict[str, list[bytes]] = {}
    for path in paths:
        with path.open("rb") as handle:
            for record in handle:
                patient, _, line = record.rstrip(b"\n").partition(b"\t")
                groups.setdefault(patient.decode(), []).append(line)
    return groups


def build_medication_index(workdir: Path) -> Path:
    """Medication resources by id in one SQLite file (first copy of an id wins)."""
    target = workdir / MEDICATION_INDEX
    db = sqlite3.connect(target)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS medication (id TEXT PRIMARY KEY, body BLOB)")
        for path in sorted(workdir.glob("m.t*")):
            with path.open("rb") as handle:
                rows = (record.rstrip(b"\n").split(b"\t", 1) for record in handle)
                db.executemany("INSERT OR IGNORE INTO medication VALUES (?, ?)",
                               ((rid.decode(), body) for rid, body in rows))
        db.commit()
    finally:
        db.close()
    return target


class MedicationLookup:
    """Medication resources by id, read from the SQLite index as orders reference them."""

    def __init__(self, index: Path | None) -> None:
        self._db = (sqlite3.connect(f"file:{index}?mode=ro", uri=True, check_same_thread=False)
                    if index is not None and index.is_file() else None)
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, rid: str) -> dict[str, Any] | None:
        if rid in self._cache:
            return self._cache[rid]
        found = None
        if self._db is not None:
            row = self._db.execute("SELECT body FROM medication WHERE id = ?", (rid,)).fetchone()
            found = orjson.loads(row[0]) if row else None
        if len(self._cache) > 10_000:  # a formulary's worth; bounded either way
            self._cache.clear()
        self._cache[rid] = found
        return found


def iter_buckets(workdir: Path, buckets: int) -> Iterator[int]:
    """Buckets that received any line."""
    present = {int(p.name[1:6]) for p in workdir.glob("b*.t*")}
    return iter(sorted(b for b in range(buckets) if b in present))
