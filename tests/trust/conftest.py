"""Shared helpers for the trust and robustness tests: issuers, stand-in FHIR servers, logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import EVALUATION_DATE, FIXTURES
from tests.security.jwt_factory import TestIssuer, generate_key, make_file_issuer

PV = "/cds-services/benzo-safety-patient-view"
OS = "/cds-services/benzo-safety-order-select"
OSIGN = "/cds-services/benzo-safety-order-sign"
SERVICE_PATHS = {"patient-view": PV, "order-select": OS, "order-sign": OSIGN}
ALLOWED_FHIR = "https://fhir.example.org/r4"
EVIL_FHIR = "https://evil.example.net/r4"
HOOK_FIXTURES = sorted(
    p.relative_to(FIXTURES).as_posix() for p in (FIXTURES / "hooks").glob("*.json")
)


def standin_files(folder: str = "overlap-patient") -> dict[str, dict[str, Any]]:
    folder_path = FIXTURES / "servers" / folder
    return {p.stem: json.loads(p.read_text()) for p in folder_path.glob("*.json")}


def serve_standin(
    router: respx.MockRouter, base: str, folder: str = "overlap-patient", **replace: Any
) -> dict[str, respx.Route]:
    """Mock a FHIR server at `base` answering the service's prefetch queries from `folder`;
    `replace` swaps the answer of one resource type (a respx side effect or JSON)."""
    files = standin_files(folder)
    patient = files["Patient"]
    routes = {"Patient": router.get(f"{base}/Patient/{patient['id']}").respond(200, json=patient)}
    for kind in ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest"):
        route = router.get(f"{base}/{kind}", params={"patient": patient["id"]})
        if kind in replace:
            route.mock(side_effect=replace[kind])
        else:
            route.respond(
                200,
                json=files.get(kind, {"resourceType": "Bundle", "type": "searchset", "total": 0}),
            )
        routes[kind] = route
    return routes


def feedback_body(
    card: str = "0b8f3c1e-7a51-4c0e-9d57-5a3a1c2b7e10",
    *,
    comment: str | None = None,
    timestamp: str = "2026-11-23T10:05:31Z",
) -> dict[str, Any]:
    reason: dict[str, Any] = {"reason": {"code": "patient-declined", "display": "Declined"}}
    if comment is not None:
        reason["userComment"] = comment
    return {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": reason,
                "outcomeTimestamp": timestamp,
            }
        ]
    }


class RecordList(logging.Handler):
    """Keeps every record that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        """Each record's message and every attribute (extra fields included) as text."""
        out = []
        for record in self.records:
            fields = {k: v for k, v in vars(record).items() if k not in ("msg", "args")}
            out.append(f"{record.getMessage()} {fields!r}")
        return out


@pytest.fixture
def root_records() -> Iterator[RecordList]:
    """A handler on the root logger at DEBUG; call `attach()` again after create_app, which
    replaces the root handlers."""
    handler = RecordList()
    root = logging.getLogger()
    level = root.level
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def attach(handler: logging.Handler, level: int = logging.DEBUG) -> None:
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def es_issuer(tmp_path_factory: pytest.TempPathFactory) -> TestIssuer:
    return make_file_issuer(
        tmp_path_factory.mktemp("es"),
        "https://ehr.example.org",
        alg="ES384",
        fhir_servers=[ALLOWED_FHIR],
    )


@pytest.fixture(scope="session")
def rs_issuer(tmp_path_factory: pytest.TempPathFactory) -> TestIssuer:
    return make_file_issuer(
        tmp_path_factory.mktemp("rs"),
        "https://other-ehr.example.com",
        alg="RS384",
        key=generate_key("RS384"),
        fhir_servers=["https://fhir.other-ehr.example.com/api/r4"],
    )


def started_client(db_dir: Path, **overrides: Any) -> TestClient:
    """A running client for module-scoped fixtures (make_client is per test); close with
    `client.__exit__(None, None, None)`."""
    values: dict[str, Any] = {
        "evaluation_date": EVALUATION_DATE,
        "database_url": f"sqlite+aiosqlite:///{db_dir / 'trust.db'}",
    }
    values.update(overrides)
    client = TestClient(create_app(Settings(_env_file=None, **values)))  # type: ignore[call-arg]
    client.__enter__()
    return client
