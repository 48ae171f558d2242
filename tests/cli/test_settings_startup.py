"""Settings a person gets right first time: warnings for stray names, one-line refusals, exit 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from app.settings_check import (
    all_warnings,
    checked_settings,
    environment_warnings,
    known_variables,
    refusals,
    variable,
)
from tests.cli.fhir_standin import free_port
from tests.conftest import ROOT

GOOD_KEY = "k" * 40
JWKS = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-384",
            "kid": "k1",
            "use": "sig",
            "alg": "ES384",
            "x": "tWy5QyQWQZ1TZF8L-Iy3Iq2JZ2m6B7C4FxL9Y5xv2Qq5oZ6LYGQ6w3PZ3Qfy3n9X",
            "y": "m5hG5Yb8t1c4iC1rW2Lk6G1VJwJQ5J3bB9Z0rX4Kx0L8cQ9g3rT1wN7n5Vv2y1zA",
        }
    ]
}


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BENZO_CDS_")
        and k.removeprefix("BENZO_CDS_") not in {v.upper() for v in Settings.model_fields}
    }
    env.update(PYTHONPATH=str(ROOT), BENZO_CDS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/s.db")
    env.update(values)
    return env


def _issuer_file(tmp_path: Path, name: str = "issuers.json", **issuer: object) -> str:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(JWKS))
    path = tmp_path / name
    path.write_text(
        json.dumps([{"iss": "https://ehr.example.org", "jwks_file": str(jwks), **issuer}])
    )
    return str(path)


# --------------------------------------------------------------------------- warnings


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_set_without_its_prefix_is_named(field: str) -> None:
    # Derived from the Settings model: a setting added later is covered without a change here.
    warnings = environment_warnings({field.upper(): "x"})
    assert warnings == [
        f"{field.upper()} (in the environment) is ignored: this service reads {variable(field)}"
    ]


def test_unprefixed_name_is_quiet_when_the_real_one_is_set() -> None:
    assert environment_warnings({"DATABASE_URL": "x", "BENZO_CDS_DATABASE_URL": "y"}) == []
    assert environment_warnings({"HOME": "/root", "PATH": "/bin"}) == []


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("BENZO_CDS_TRUSTED_ISSUER", "did you mean BENZO_CDS_TRUSTED_ISSUERS?"),
        ("BENZO_CDS_JWT_REQUIERD", "did you mean BENZO_CDS_JWT_REQUIRED?"),
        ("BENZO_CDS_ENV", "did you mean BENZO_CDS_ENVIRONMENT?"),
        ("BENZO_CDS_COLOUR", "see README, Configuration"),
    ],
)
def test_unknown_prefixed_names_are_named_with_a_suggestion(name: str, hint: str) -> None:
    [warning] = environment_warnings({name: "x"})
    assert warning.startswith(f"{name} (in the environment) is not a setting") and hint in warning


def test_known_names_include_those_read_outside_settings() -> None:
    names = known_variables()
    assert {
        "BENZO_CDS_FIXTURES_DIR",
        "BENZO_CDS_WORKERS",
        "BENZO_CDS_ENVIRONMENT",
        "BENZO_CDS_DEMO",
    } <= set(names)
    assert environment_warnings({"BENZO_CDS_FIXTURES_DIR": "/x", "BENZO_CDS_WORKERS": "2"}) == []


def test_dotenv_file_is_checked_too(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "ENVIRONMENT=production\nBENZO_CDS_SNOOZE_DAY=30\n"
        "BENZO_CDS_DATABASE_URL=sqlite+aiosqlite:///x.db\n"
    )
    warnings = all_warnings({"DATABASE_URL": "postgresql://elsewhere"}, env_file)
    assert any(w.startswith(f"ENVIRONMENT (in {env_file})") for w in warnings)
    assert any("BENZO_CDS_SNOOZE_DAY" in w and "BENZO_CDS_SNOOZE_DAYS" in w for w in warnings)
    # DATABASE_URL in the environment is not a mistake when .env sets the real one.
    assert not any(w.startswith("DATABASE_URL") for w in warnings)


def test_cli_command_prints_the_warnings(tmp_path: Path) -> None:
    env = _env(tmp_path, ENVIRONMENT="production", BENZO_CDS_TRUSTED_ISSUER="[]")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "evaluate",
            str(ROOT / "fhir_fixtures" / "bundles"),
            "--date",
            "2026-11-23",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "ENVIRONMENT (in the environment) is ignored: this service reads "
        "BENZO_CDS_ENVIRONMENT" in done.stderr
    )
    assert "did you mean BENZO_CDS_TRUSTED_ISSUERS?" in done.stderr


def test_service_logs_the_warnings_at_start_up(tmp_path: Path) -> None:
    env = _env(tmp_path, JWT_REQUIRED="true", BENZO_CDS_LOG_LEVEL="WARNING")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.stderr is not None
        deadline, seen = time.monotonic() + 30, ""
        while "BENZO_CDS_JWT_REQUIRED" not in seen and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line and server.poll() is not None:
                break
            seen += line
        record = next(
            json.loads(line) for line in seen.splitlines() if "BENZO_CDS_JWT_REQUIRED" in line
        )
        assert record["level"] == "warning"
        assert record["msg"] == (
            "JWT_REQUIRED (in the environment) is ignored: this service "
            "reads BENZO_CDS_JWT_REQUIRED"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


# --------------------------------------------------------------------------- refusals


def _cases(tmp_path: Path) -> dict[str, tuple[dict[str, str], str]]:
    production = {"BENZO_CDS_ENVIRONMENT": "production"}
    return {
        "no issuers": (
            production | {"BENZO_CDS_PATIENT_HASH_KEY": GOOD_KEY},
            "BENZO_CDS_TRUSTED_ISSUERS",
        ),
        "issuer without keys": (
            production | {"BENZO_CDS_TRUSTED_ISSUERS": '[{"iss": "https://ehr.example.org"}]'},
            "BENZO_CDS_TRUSTED_ISSUERS (at 0): trusted issuer 'https://ehr.example.org' needs",
        ),
        "issuers file missing": (
            production | {"BENZO_CDS_TRUSTED_ISSUERS_FILE": str(tmp_path / "nope.json")},
            f"BENZO_CDS_TRUSTED_ISSUERS_FILE {tmp_path / 'nope.json'} does not exist",
        ),
        "file issuer without keys": (
            production
            | {
                "BENZO_CDS_TRUSTED_ISSUERS_FILE": _issuer_file(
                    tmp_path, "keyless.json", jwks_file=None
                )
            },
            f"BENZO_CDS_TRUSTED_ISSUERS_FILE {tmp_path / 'keyless.json'}, issuer 1: issuer: "
            "trusted issuer 'https://ehr.example.org' needs jwks_url",
        ),
        "short hash key": (
            production
            | {
                "BENZO_CDS_TRUSTED_ISSUERS_FILE": _issuer_file(tmp_path),
                "BENZO_CDS_PATIENT_HASH_KEY": "too-short-secret-value",
            },
            "BENZO_CDS_PATIENT_HASH_KEY has 22 characters: production needs at least 32",
        ),
        "development default hash key": (
            production | {"BENZO_CDS_TRUSTED_ISSUERS_FILE": _issuer_file(tmp_path)},
            "BENZO_CDS_PATIENT_HASH_KEY is the development default",
        ),
        "bad value": ({"BENZO_CDS_ENVIRONMENT": "prod"}, "BENZO_CDS_ENVIRONMENT: Input should be"),
    }


CASES = [
    "no issuers",
    "issuer without keys",
    "issuers file missing",
    "file issuer without keys",
    "short hash key",
    "development default hash key",
    "bad value",
]
LAUNCHERS = {
    "benzo-cds serve": [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
    "uvicorn app.main:app": [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
}


@pytest.mark.parametrize("case", CASES)
def test_refusal_is_one_line_naming_the_variable(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    values, named = _cases(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BENZO_CDS_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            checked_settings()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(line.startswith("benzo-cds: refusing to start: ") for line in lines)
    assert any(named in line for line in lines), lines
    assert not any("too-short-secret-value" in line or GOOD_KEY in line for line in lines)


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize("case", ["no issuers", "issuer without keys"])
def test_launchers_refuse_with_exit_2_and_no_traceback(
    tmp_path: Path, case: str, launcher: str
) -> None:
    values, named = _cases(tmp_path)[case]
    done = subprocess.run(
        LAUNCHERS[launcher],
        cwd=tmp_path,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("benzo-cds: refusing to start: ") for line in lines)
    assert any(named in line for line in lines), lines


def test_production_with_everything_set_starts(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        environment="production",  # type: ignore[call-arg]
        trusted_issuers_file=Path(_issuer_file(tmp_path)),
        patient_hash_key=GOOD_KEY,
    )
    assert refusals(settings) == [] and refusals(settings, "0.0.0.0") == []


@pytest.mark.parametrize(
    ("host", "demo", "refused"),
    [
        ("0.0.0.0", False, True),
        ("::", False, True),
        ("192.168.1.20", False, True),
        ("0.0.0.0", True, False),
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("::1", False, False),
    ],
)
def test_development_mode_off_loopback_needs_demo(host: str, demo: bool, refused: bool) -> None:
    problems = refusals(Settings(_env_file=None, demo=demo), host)  # type: ignore[call-arg]
    assert bool(problems) is refused
    if refused:
        assert "BENZO_CDS_DEMO=true" in problems[0] and "BENZO_CDS_ENVIRONMENT" in problems[0]


def test_serve_refuses_development_on_all_interfaces_before_binding(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("benzo-cds: refusing to start: development mode")
    assert "BENZO_CDS_DEMO=true" in done.stderr and "Traceback" not in done.stderr


def test_readme_configuration_table_gives_full_real_names() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Configuration") : text.index("## Security")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    names = [
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])
    ]
    assert names and all(name.startswith("BENZO_CDS_") for name in names), names
    assert [name for name in names if name not in known_variables()] == []


def test_importing_the_module_does_not_build_the_app(tmp_path: Path) -> None:
    # Tests and tools import create_app; only `app` itself (what uvicorn loads) is checked.
    code = "import app.main; print('imported', flush=True); app.main.app"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(tmp_path, BENZO_CDS_ENVIRONMENT="production"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout == "imported\n"
    assert done.returncode == 2 and "BENZO_CDS_TRUSTED_ISSUERS" in done.stderr
