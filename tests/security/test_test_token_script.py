"""scripts/test_token.py: a local key pair and trusted-issuers file, and tokens the service
accepts through HTTP (the README's "sign a local test token")."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import ROOT, load_fixture

SCRIPT = ROOT / "scripts" / "test_token.py"
PV = "/cds-services/benzo-safety-patient-view"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keygen_then_sign_gives_tokens_the_service_accepts(
    tmp_path: Path, make_client: Callable[..., TestClient]
) -> None:
    made = _run(
        "keygen",
        "--dir",
        "local-keys",
        "--fhir-server",
        "https://fhir.example.org/r4",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    keys = tmp_path / "local-keys"
    assert stat.S_IMODE((keys / "private-jwk.json").stat().st_mode) == 0o600
    public = json.loads((keys / "jwks.json").read_text())
    assert public["keys"][0]["kty"] == "EC" and "d" not in public["keys"][0]

    client = make_client(jwt_required=True, trusted_issuers_file=keys / "trusted-issuers.json")
    for path in ("/cds-services", PV):
        signed = _run(
            "sign",
            "--key",
            "local-keys/private-jwk.json",
            "--aud",
            f"http://testserver{path}",
            cwd=tmp_path,
        )
        assert signed.returncode == 0, signed.stderr
        token = signed.stdout.strip()
        header = json.loads(_b64(token.split(".")[0]))
        assert header == {"typ": "JWT", "alg": "ES384", "kid": public["keys"][0]["kid"]}
        headers = {"Authorization": f"Bearer {token}"}
        if path == PV:
            response = client.post(
                path, json=load_fixture("hooks/patient-view-overlap.json"), headers=headers
            )
        else:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        # Single use: the same token again is a replay.
        assert client.get("/cds-services", headers=headers).status_code == 401


def test_sign_with_a_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("sign", "--key", "absent.json", "--aud", "http://x/cds-services", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot use absent.json" in result.stderr and "Traceback" not in result.stderr


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
