"""Service replicas as real uvicorn processes on one database, and the calls a test makes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ROOT, Server, clean_env
from tests.conftest import load_fixture
from tests.security.jwt_factory import TestIssuer, make_file_issuer

PUBLIC = "https://cds.example.org"  # both replicas sit behind one load-balanced name
PV = "benzo-safety-patient-view"
OVERLAP = "opioid-benzodiazepine-overlap"
SNOOZE = {
    "reason": {
        "code": "snooze-3-months",
        "system": "http://fhir.org/guides/cdc/opioid-cds/CodeSystem/opioidcds-overrideReasons",
    }
}


class Deployment:
    """Production settings for every replica: JWT from one trusted issuer, one database."""

    def __init__(self, database_url: str, directory: Path, **extra: str) -> None:
        self.dir = directory
        self.issuer: TestIssuer = make_file_issuer(directory)
        self.env = {
            "BENZO_CDS_ENVIRONMENT": "production",
            "BENZO_CDS_DATABASE_URL": database_url,
            "BENZO_CDS_TRUSTED_ISSUERS": json.dumps([self.issuer.trusted.model_dump()]),
            "BENZO_CDS_PATIENT_HASH_KEY": "replica-test-hash-key-0123456789",
            "BENZO_CDS_PUBLIC_BASE_URL": PUBLIC,
            "BENZO_CDS_EVALUATION_DATE": "2026-11-23",
            **extra,
        }

    def replica(self, name: str, workers: int = 1) -> Server:
        return Server(
            name,
            "app.main:app",
            workers=workers,
            env=self.env,
            ready_path="/health/live",
            log_dir=self.dir,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=self.dir,
            env=clean_env(self.env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def auth(self, path: str) -> dict[str, str]:
        """A fresh token (new jti) for one call to `path`."""
        return {"Authorization": self.issuer.bearer(f"{PUBLIC}{path}")}


def hook_path() -> str:
    return f"/cds-services/{PV}"


def feedback_path() -> str:
    return f"/cds-services/{PV}/feedback"


def overlap_request() -> dict[str, Any]:
    return load_fixture("hooks/patient-view-overlap.json")


def rules(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["source"]["topic"]["code"] for c in response.json()["cards"]}


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


def wait_for(predicate: Any, timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


__all__ = ["ROOT", "Deployment"]
