"""Find the NDJSON files of a Bulk FHIR export and read their lines (gzip or plain).

Names seen in the wild: ``Patient.ndjson``, ``Patient.2.ndjson``, ``1.Patient.ndjson``,
``Patient_000.ndjson`` (each optionally ``.gz``), and opaque names listed in the export's
``manifest.json`` (the $export status response, whose ``output`` gives each file's type).
A file whose name names no type is identified by its first line: an NDJSON file holds one
resource type only (FHIR R4 nd-json).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path

import orjson

# The types the pipeline reads; any other type in the export is left unread.
READ_TYPES = (
    "Patient",
    "MedicationRequest",
    "Condition",
    "CarePlan",
    "ServiceRequest",
    "Medication",
)
_SUFFIX = re.compile(r"\.(ndjson|jsonl)(\.gz|\.gzip)?$", re.IGNORECASE)
_TYPE_TOKEN = re.compile(r"^[A-Z][A-Za-z]{2,40}$")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class ExportFile:
    path: Path
    resource_type: str  # one of READ_TYPES
    size: int  # bytes on disk (compressed size for gzip)
    compressed: bool


@dataclass(frozen=True)
class ExportListing:
    files: tuple[ExportFile, ...]
    # Files left unread, by the type they hold (e.g. {"Observation": 3}); no patient data.
    ignored: dict[str, int]


def is_bulk_export(folder: Path) -> bool:
    """True when the folder holds NDJSON files (plain or gzip)."""
    return folder.is_dir() and any(_SUFFIX.search(p.name) for p in folder.iterdir() if p.is_file())


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def open_binary(path: Path) -> BufferedIOBase:
    """The file's bytes, decompressed when it is gzip (by magic number, not by name)."""
    if _is_gzip(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def _type_from_name(name: str) -> str | None:
    """The read type a file name states (``Patient.2.ndjson.gz`` -> Patient), else None."""
    for token in re.split(r"[._-]", _SUFFIX.sub("", name)):
        if token in READ_TYPES:
            return token
    return None


def _type_from_first_line(path: Path) -> str | None:
    with open_binary(path) as handle:
        for line in handle:
            if line.strip():
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    return None
                kind = value.get("resourceType") if isinstance(value, dict) else None
                return kind if isinstance(kind, str) else None
    return None


def _manifest_types(folder: Path) -> dict[str, str]:
    """File name -> type from a saved $export manifest (manifest.json), when there is one."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return {}
    try:
        outputs = orjson.loads(manifest.read_bytes()).get("output") or []
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    if not isinstance(outputs, list):  # a hand-edited manifest: read the files by name
        return {}
    found = {}
    for item in outputs:
        if (
            isinstance(item, dict)
            and isinstance(item.get("type"), str)
            and isinstance(item.get("url"), str)
        ):
            found[item["url"].rstrip("/").rsplit("/", 1)[-1]] = item["type"]
    return found


def list_export(folder: Path) -> ExportListing:
    """The export's readable files in a stable order, and what was left unread."""
    by_manifest = _manifest_types(folder)
    files: list[ExportFile] = []
    ignored: dict[str, int] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and _SUFFIX.search(p.name)):
        kind = by_manifest.get(path.name) or _type_from_name(path.name)
        if kind is None:
            # Another type's file (Observation.ndjson) or an opaque name: one line tells.
            kind = _type_from_first_line(path) or "unknown"
        if kind not in READ_TYPES:
            label = kind if _TYPE_TOKEN.match(kind) else "unknown"
            ignored[label] = ignored.get(label, 0) + 1
            continue
        files.append(ExportFile(path, kind, path.stat().st_size, _is_gzip(path)))
    return ExportListing(tuple(files), ignored)


BLOCK_BYTES = 4 * 1024 * 1024


def read_blocks(
    path: Path, start: int = 0, end: int | None = None, block: int = BLOCK_BYTES
) -> Iterator[bytes]:
    """The file's lines a few MiB at a time, each block ending at a line's end (the file's last
    line may lack its newline). With a byte range (plain files only): the lines that start in
    it, whole, however far the last one runs past `end`."""
    with open_binary(path) if start == 0 and end is None else path.open("rb") as handle:
        if start:
            handle.seek(start - 1)
            handle.readline()  # finish the line that straddles `start`; its owner reads it
        position = handle.tell()
        while end is None or position < end:
            data = handle.read(block if end is None else min(block, end - position))
            if not data:
                return
            if not data.endswith(b"\n"):
                data += handle.readline()  # complete the line that starts in this block
            position += len(data)
            yield data
