"""Medication resources of an export (a formulary shared by patients), indexed by id on disk.

Orders may name their drug by reference (``medicationReference``); the partition pass writes
Medication lines apart (``m.t<task>``), this module puts them in one SQLite file, and workers
look ids up as orders reference them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

MEDICATION_INDEX = "medications.sqlite"
_CACHE = 10_000  # ids per worker: a formulary's worth; bounded either way


def build_medication_index(workdir: Path) -> Path:
    """Medication resources by id in one SQLite file (first copy of an id wins)."""
    target = workdir / MEDICATION_INDEX
    db = sqlite3.connect(target)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS medication (id TEXT PRIMARY KEY, body BLOB)")
        for path in sorted(workdir.glob("m.t*")):
            with path.open("rb") as handle:
                rows = (record.rstrip(b"\n").split(b"\t", 1) for record in handle)
                db.executemany(
                    "INSERT OR IGNORE INTO medication VALUES (?, ?)",
                    ((rid.decode(), body) for rid, body in rows),
                )
        db.commit()
    finally:
        db.close()
    return target


class MedicationLookup:
    """Medication resources by id, read from the SQLite index as orders reference them."""

    def __init__(self, index: Path | None) -> None:
        self._db = (
            sqlite3.connect(f"file:{index}?mode=ro", uri=True, check_same_thread=False)
            if index is not None and index.is_file()
            else None
        )
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, rid: str) -> dict[str, Any] | None:
        if rid in self._cache:
            return self._cache[rid]
        found = None
        if self._db is not None:
            row = self._db.execute("SELECT body FROM medication WHERE id = ?", (rid,)).fetchone()
            found = orjson.loads(row[0]) if row else None
        if len(self._cache) > _CACHE:
            self._cache.clear()
        self._cache[rid] = found
        return found
