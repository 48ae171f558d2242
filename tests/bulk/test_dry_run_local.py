"""The NDJSON reader and local engine on a messy export, checked patient by patient against
the hook itself (HTTP patient-view with full prefetch)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.bulk.files import list_export
from app.bulk.partition import quick_patient
from app.bulk.run import CSV_NAME, HTML_NAME, JSON_NAME, DryRun
from app.cards import RULES
from app.feedback.snooze import patient_key
from bench.data import prefetch
from tests.bulk.conftest import settings
from tests.bulk.export import MessyExport

PV = "benzo-safety-patient-view"
OVERLAP = "opioid-benzodiazepine-overlap"
# "**up to 120 MME/day**": the total the overlap card states, bold
_MME_TOTAL = re.compile(r"\*\*(up to )?([0-9.]+) MME/day\*\*")


def _rows(run: DryRun) -> dict[str, dict[str, str]]:
    with (run.out / CSV_NAME).open(newline="", encoding="utf-8") as handle:
        return {row["patient"]: row for row in csv.DictReader(handle)}


def test_export_files_are_found_by_name_gzip_and_type(messy: MessyExport) -> None:
    listing = list_export(messy.folder)
    names = {f.path.name for f in listing.files}
    assert "MedicationRequest.1.ndjson" in names and "MedicationRequest.2.ndjson.gz" in names
    assert {f.resource_type for f in listing.files} == {
        "Patient",
        "MedicationRequest",
        "Condition",
        "CarePlan",
        "ServiceRequest",
        "Medication",
    }
    assert all(f.compressed == f.path.name.endswith(".gz") for f in listing.files)
    assert listing.ignored == {"Observation": 1}


def test_bad_lines_are_skipped_and_counted(messy: MessyExport, local_run: DryRun) -> None:
    reading = local_run.reading
    expected = {
        kind: sum(len(p.resources(kind)) for p in messy.patients.values())
        for kind in ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest")
    }
    expected["Patient"] = len(messy.patients) - 1  # the orphan has none
    expected["Medication"] = 1
    assert reading["resources"] == expected
    assert reading["malformed_lines"] == messy.malformed_lines
    assert reading["without_patient"] == {"Condition": messy.without_subject}
    assert reading["other_types"] == {"Observation": messy.other_type_lines}
    assert reading["without_patient_resource"] == 1
    assert reading["lines"] == sum(expected.values()) + 2 + 1 + 1
    assert reading["ignored_files"] == {"Observation": 1}


def test_every_patient_gets_the_cards_the_hook_gives(
    messy: MessyExport, local_run: DryRun, make_client: Callable[..., TestClient]
) -> None:
    rows = _rows(local_run)
    assert set(rows) == set(messy.patients) - {messy.orphan_patient}
    client = make_client()
    fired = mme_compared = 0
    for pid, patient in messy.patients.items():
        if pid == messy.orphan_patient:
            continue
        body: dict[str, Any] = {
            "hook": "patient-view",
            "hookInstance": "d1c3a1e2-0000-4000-8000-000000000017",
            "context": {"userId": "Practitioner/x", "patientId": pid},
            "prefetch": prefetch(patient),
        }
        if pid == messy.medication_ref_patient:
            body["prefetch"]["medications"]["entry"].append(
                {
                    "resource": {
                        "resourceType": "Medication",
                        "id": "med-ref-1",
                        "code": _medication_code(messy),
                    }
                }
            )
        response = client.post(f"/cds-services/{PV}", json=body)
        assert response.status_code == 200, response.text
        cards = response.json()["cards"]
        by_hook = {c["source"]["topic"]["code"]: c["indicator"] for c in cards}
        by_dry_run = {rule: rows[pid][rule] for rule in RULES if rows[pid][rule]}
        assert by_dry_run == by_hook, pid
        fired += len(by_hook)
        # The MME total the overlap card states is the one the report bins.
        for card in cards:
            stated = (
                _MME_TOTAL.search(card["detail"])
                if card["source"]["topic"]["code"] == OVERLAP
                else None
            )
            if stated:
                assert float(stated.group(2)) == float(rows[pid]["mme_per_day"]), pid
                assert (stated.group(1) is not None) == (rows[pid]["mme_upper_bound"] == "yes")
                mme_compared += 1
    assert fired > len(rows)  # the `all` mix makes most rules fire: this compared real cards
    assert mme_compared >= 10
    # The order resolved through Medication.ndjson was read as the benzodiazepine it is.
    assert rows[messy.medication_ref_patient]["bzra_active"] != "0"


def _medication_code(messy: MessyExport) -> dict[str, Any]:
    for path in messy.folder.glob("Medication.*"):
        import gzip

        for line in gzip.decompress(path.read_bytes()).splitlines():
            if line.strip():
                return dict(json.loads(line)["code"])
    raise AssertionError("no Medication line")


def test_report_and_json_agree_with_the_csv(local_run: DryRun) -> None:
    rows = _rows(local_run)
    data = json.loads((local_run.out / JSON_NAME).read_text())
    assert data["summary"]["patients"] == len(rows)
    for rule in RULES:
        count = sum(1 for row in rows.values() if row[rule])
        assert round(1000 * count / len(rows), 2) == data["summary"]["per_1000"][rule]
    page = (local_run.out / HTML_NAME).read_text()
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert not any(pid in page for pid in rows)


def test_patient_ids_are_hashed_unless_revealed(
    messy: MessyExport, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    out = tmp_path / "hashed"
    result = run_cli(
        "evaluate", str(messy.folder), "--out", str(out), "--date", "2026-11-23", "--workers", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "patients evaluated" in result.stdout and result.stderr == ""  # no TTY: no bar
    written = "".join((out / name).read_text() for name in (CSV_NAME, HTML_NAME, JSON_NAME))
    assert not any(pid in written for pid in messy.patients)
    with (out / CSV_NAME).open(newline="") as handle:
        hashed = {row["patient"] for row in csv.DictReader(handle)}
    expected = {
        patient_key(settings(), pid) for pid in messy.patients if pid != messy.orphan_patient
    }
    assert hashed == expected
    bad = run_cli("evaluate", str(messy.folder), "--out", str(out), "--date", "2026-13-01")
    assert bad.returncode == 2 and "2026-13-01" in bad.stderr


def test_byte_search_finds_only_a_plain_top_level_subject() -> None:
    assert (
        quick_patient(b'{"resourceType":"Condition","subject":{"reference":"Patient/a-1"}}')
        == b"a-1"
    )
    for line in (
        b'{"subject":{"display":"x","reference":"Patient/a"}}',
        b'{"contained":[{"subject":{"reference":"Patient/b"}}],'
        b'"subject":{"reference":"Patient/a"}}',
        b'{"subject":{"reference":"Patient/a"},"patient":{"reference":"Patient/b"}}',
        b'{"subject":{"reference":"Patient/a/_history/2"}}',
        b'{"subject":{"reference":"Patient/a b"}}',
    ):
        assert quick_patient(line) is None, line
