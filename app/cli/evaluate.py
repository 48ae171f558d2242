"""`benzo-cds evaluate DIR`: run all rules over a folder of FHIR bundles; print cards and counts."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from app.config import ALL_RULES, get_settings
from app.errors import CdsError
from app.fhir.bundles import latest_clinical_date
from app.hooks.definitions import SERVICES
from app.hooks.evaluate import evaluate_call, rule_of

_KEYS = {
    "MedicationRequest": "medications",
    "Condition": "conditions",
    "CarePlan": "carePlans",
    "ServiceRequest": "serviceRequests",
}


def bundle_to_request(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    """A patient-view hook request whose prefetch holds the bundle's resources."""
    resources = [
        e["resource"]
        for e in bundle.get("entry", [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    if patient is None:
        raise ValueError("bundle has no Patient")
    prefetch: dict[str, Any] = {"patient": patient}
    for kind, key in _KEYS.items():
        found = [r for r in resources if r.get("resourceType") == kind]
        prefetch[key] = (
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [{"resource": r} for r in found],
            }
            if found
            else None
        )
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "context": {
            "userId": "Practitioner/benzo-cds-evaluate",
            "patientId": str(patient.get("id", "unknown")),
        },
        "prefetch": prefetch,
    }


async def _evaluate_dir(directory: Path, date_arg: str) -> list[dict[str, Any]]:
    base = get_settings()
    service = SERVICES["benzo-safety-patient-view"]
    rows: list[dict[str, Any]] = []
    # No network: every resource comes from the bundle as prefetch.
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(599))
    ) as http:
        for path in sorted(directory.glob("*.json")):
            row: dict[str, Any] = {"file": path.name}
            try:
                bundle = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                    raise ValueError("not a FHIR Bundle")
                if date_arg == "latest":
                    when = latest_clinical_date(bundle) or base.today()
                elif date_arg == "today":
                    when = base.today()
                else:
                    when = date.fromisoformat(date_arg)
                settings = base.model_copy(update={"evaluation_date": when})
                evaluation = await evaluate_call(
                    bundle_to_request(bundle, path.name),
                    service,
                    http=http,
                    settings=settings,
                    allowed_fhir_servers=None,
                )
            except OSError as error:
                row["error"] = f"cannot read: {error.strerror or type(error).__name__}"
                rows.append(row)
                continue
            except (ValueError, CdsError) as error:
                row["error"] = getattr(error, "message", None) or str(error)
                rows.append(row)
                continue
            row.update(
                date=when.isoformat(),
                age=evaluation.record.age,
                cards=[
                    {"rule": rule_of(c), "indicator": c.indicator, "summary": c.summary}
                    for c in evaluation.cards
                ],
            )
            rows.append(row)
    return rows


def _folder_problem(folder: Path) -> str | None:
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    try:
        next(folder.iterdir(), None)
    except OSError as error:
        return f"cannot read {folder}: {error.strerror or type(error).__name__}"
    return None


def run_evaluate(
    directory: str,
    *,
    date_arg: str = "latest",
    as_json: bool = False,
    bulk: dict[str, Any] | None = None,
) -> int:
    """0 when every bundle was evaluated; 1 when some could not be; 2 when the folder cannot.
    A folder of NDJSON files is a Bulk FHIR export: a population dry run (app/cli/bulk.py)."""
    folder = Path(directory)
    problem = _folder_problem(folder)
    if problem is None:
        from app.bulk.files import is_bulk_export

        if is_bulk_export(folder):
            from app.cli.bulk import run_bulk

            return run_bulk(folder, date_arg=date_arg, as_json=as_json, **(bulk or {}))
        if not any(folder.glob("*.json")):
            problem = f"no FHIR bundles (*.json) in {folder}"
    if problem is not None:
        print(f"benzo-cds evaluate: {problem}", file=sys.stderr)
        return 2
    rows = asyncio.run(_evaluate_dir(folder, date_arg))
    counts = Counter(
        (card["rule"], card["indicator"]) for row in rows for card in row.get("cards", [])
    )
    if as_json:
        print(
            json.dumps(
                {
                    "patients": rows,
                    "counts": [
                        {"rule": r, "indicator": i, "cards": n}
                        for (r, i), n in sorted(counts.items())
                    ],
                },
                indent=2,
            )
        )
        return _failures(rows)
    print(f"{'file':<44} {'as of':<10} {'age':>4}  cards")
    for row in rows:
        if "error" in row:
            print(f"{row['file']:<44} error: {row['error']}")
            continue
        cards = ", ".join(f"{c['rule']} ({c['indicator']})" for c in row["cards"]) or "-"
        age = "?" if row["age"] is None else row["age"]
        print(f"{row['file']:<44} {row['date']:<10} {age:>4}  {cards}")
    print(f"\n{'rule':<32} {'info':>5} {'warning':>8} {'critical':>9} {'total':>6}")
    for rule in ALL_RULES:
        by = {i: counts.get((rule, i), 0) for i in ("info", "warning", "critical")}
        print(
            f"{rule:<32} {by['info']:>5} {by['warning']:>8} {by['critical']:>9} "
            f"{sum(by.values()):>6}"
        )
    print(
        f"\n{len(rows)} patients, {sum(1 for r in rows if r.get('cards'))} with cards, "
        f"{sum(1 for r in rows if 'error' in r)} unreadable"
    )
    return _failures(rows)


def _failures(rows: list[dict[str, Any]]) -> int:
    failed = [row["file"] for row in rows if "error" in row]
    if failed:
        print(
            f"benzo-cds evaluate: {len(failed)} of {len(rows)} files could not be evaluated "
            f"({', '.join(failed[:5])}{', ...' if len(failed) > 5 else ''})",
            file=sys.stderr,
        )
    return 1 if failed else 0
