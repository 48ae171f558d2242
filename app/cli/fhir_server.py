"""`benzo-cds fhir-server DIR`: serve a folder of FHIR bundles read-only on loopback."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

from app.fhir_server.app import build_app
from app.fhir_server.store import FhirStore, FolderError, load_folder

HOST = "127.0.0.1"


def describe(store: FhirStore, folder: Path, day: date) -> str:
    """The start-up summary: what is served and how its dates were moved."""
    moved = Counter(f.moved_days for f in store.files if f.error is None)
    patients = sorted(store.resources.get("Patient", {}))
    lines = [
        f"Serving {sum(len(v) for v in store.resources.values())} resources from "
        f"{len(store.files)} files in {folder} ({len(patients)} patients)"
    ]
    if set(moved) == {None}:
        lines.append("Dates as written (not moved)")
    else:
        spans = ", ".join(
            f"{days:+d} days ({n} files)"
            for days, n in sorted(moved.items(), key=lambda kv: kv[0] or 0)
            if days is not None
        )
        lines.append(f"Dates moved to {day.isoformat()}: {spans}")
    for loaded in store.files:
        if loaded.error:
            lines.append(f"  skipped {loaded.name}: {loaded.error}")
    shown = ", ".join(patients[:8]) + (", ..." if len(patients) > 8 else "")
    lines.append(f"Patients: {shown}")
    return "\n".join(lines)


def run_fhir_server(directory: str, *, port: int, day: date, as_of: str | None, shift: bool) -> int:
    """Serve until interrupted; 2 when the folder cannot be served."""
    import uvicorn

    folder = Path(directory)
    try:
        store = load_folder(
            folder, day, as_of=date.fromisoformat(as_of) if as_of else None, shift=shift
        )
    except FolderError as error:
        print(f"benzo-cds fhir-server: {error}", file=sys.stderr)
        return 2
    base = f"http://{HOST}:{port}"
    note = f"Read-only FHIR R4 over {folder.name}/ (dates moved to {day.isoformat()})"
    print(describe(store, folder, day))
    print(f"FHIR R4 base URL: {base}   (for example {base}/metadata)", flush=True)
    # Loopback only: the bundles may hold patient data and this server asks for no token.
    config = uvicorn.Config(
        build_app(store, note),
        host=HOST,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1
