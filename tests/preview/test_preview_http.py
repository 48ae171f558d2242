"""The preview routes over plain HTTP: page, static assets, fixture listing and traversal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import preview
from tests.conftest import FIXTURES

FIXTURE = "hooks/patient-view-overlap.json"


def test_page_is_self_contained_html(client: TestClient) -> None:
    page = client.get("/preview")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="cards"' in page.text and 'id="run"' in page.text
    # No third-party hosts: every script and stylesheet is served by this router.
    for asset in ("/preview/static/preview.js", "/preview/static/preview.css"):
        assert asset in page.text
        answer = client.get(asset)
        assert answer.status_code == 200 and answer.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "/cds-services/" in client.get("/preview/static/preview.js").text


def test_static_serves_only_known_assets(client: TestClient) -> None:
    assert client.get("/preview/static/preview.html").status_code == 404
    assert client.get("/preview/static/%2e%2e%2fpreview.py").status_code == 404


def test_fixture_listing(client: TestClient) -> None:
    listed = client.get("/preview/fixtures").json()
    assert FIXTURE in listed
    assert listed == sorted(listed)
    assert all(p.endswith(".json") and p.split("/")[0] in ("hooks", "samples") for p in listed)
    assert all("servers" not in p.split("/") for p in listed)
    assert "expected.json" not in listed


def test_fixture_is_served(client: TestClient) -> None:
    answer = client.get(f"/preview/fixtures/{FIXTURE}")
    assert answer.status_code == 200
    assert answer.json() == json.loads((FIXTURES / FIXTURE).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "path",
    [
        "/preview/fixtures/../pyproject.toml",
        "/preview/fixtures/%2e%2e/pyproject.toml",
        "/preview/fixtures/%2e%2e%2fpyproject.toml",
        "/preview/fixtures/hooks/%2e%2e/%2e%2e/pyproject.toml",
        "/preview/fixtures/hooks/..%2f..%2fapp%2fconfig.py",
        "/preview/fixtures/expected.json",
        "/preview/fixtures/hooks/nope.json",
        "/preview/fixtures/%2fetc%2fpasswd",
    ],
)
def test_traversal_and_unknown_paths_are_404(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "[build-system]" not in answer.text and "root:" not in answer.text


def test_env_override_and_escaping_symlink(
    tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fixtures"
    (root / "hooks").mkdir(parents=True)
    (root / "servers" / "x").mkdir(parents=True)
    (root / "samples" / "servers").mkdir(parents=True)
    (root / "hooks" / "mine.json").write_text('{"hook": "order-sign"}', encoding="utf-8")
    (root / "servers" / "x" / "Patient.json").write_text("{}", encoding="utf-8")
    (root / "samples" / "servers" / "page.json").write_text("{}", encoding="utf-8")
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": true}', encoding="utf-8")
    (root / "hooks" / "link.json").symlink_to(secret)
    monkeypatch.setenv(preview.FIXTURES_ENV, str(root))

    assert client.get("/preview/fixtures").json() == ["hooks/mine.json"]
    assert client.get("/preview/fixtures/hooks/mine.json").json() == {"hook": "order-sign"}
    for path in (
        "hooks/link.json",
        "servers/x/Patient.json",
        "samples/servers/page.json",
        "%2e%2e/secret.json",
        "hooks/%2e%2e/%2e%2e/secret.json",
        "..%2fsecret.json",
    ):
        assert client.get(f"/preview/fixtures/{path}").status_code == 404
    assert preview.resolve_fixture(root.resolve(), "../secret.json") is None
    assert (
        preview.resolve_fixture(root.resolve(), "hooks/mine.json")
        == (root / "hooks" / "mine.json").resolve()
    )


def test_preview_can_be_switched_off(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(preview_enabled=False)
    assert client.get("/preview").status_code == 404
    assert client.get("/preview/fixtures").status_code == 404
