"""`benzo-cds demo`: the bundled hook fixtures, dates moved to today, against a running service."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from app.demo.fixtures import request_for_day, written_for
from app.hooks.definitions import SERVICES

SERVICE_BY_HOOK = {s.hook: s.id for s in SERVICES.values()}


class DemoError(Exception):
    """A problem the user can fix (exit code given); the message is shown as is."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def expected_cards(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Fixture path -> sorted (rule, indicator) from expected.json ({} when it is absent)."""
    path = root / "expected.json"
    if not path.is_file():
        return {}
    fixtures = json.loads(path.read_text(encoding="utf-8")).get("fixtures", {})
    return {
        name: sorted((c["rule"], c["indicator"]) for c in spec.get("cards", []))
        for name, spec in fixtures.items()
    }


def all_fixtures(root: Path) -> list[str]:
    """Every hook request under hooks/ and samples/, as paths relative to `root`."""
    found = [
        p.relative_to(root).as_posix()
        for folder in ("hooks", "samples")
        for p in (root / folder).glob("*.json")
    ]
    return sorted(found)


def find_fixture(root: Path, name: str) -> str:
    """`hooks/x.json`, `x.json` or `x` -> the fixture's path relative to `root`."""
    candidates = [
        name,
        f"{name}.json",
        f"hooks/{name}",
        f"hooks/{name}.json",
        f"samples/{name}",
        f"samples/{name}.json",
    ]
    for candidate in candidates:
        if candidate.endswith(".json") and (root / candidate).is_file():
            return Path(candidate).as_posix()
    known = ", ".join(Path(p).stem for p in all_fixtures(root))
    raise DemoError(f"no fixture {name!r} under {root}; known: {known}")


def load_request(root: Path, relative: str) -> dict[str, Any]:
    try:
        data = json.loads((root / relative).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DemoError(f"cannot read {root / relative}: {error}", code=1) from None
    if not isinstance(data, dict) or data.get("hook") not in SERVICE_BY_HOOK:
        raise DemoError(
            f"{relative} is not a hook request for one of: {', '.join(SERVICE_BY_HOOK)}", code=1
        )
    return data


def _post(http: httpx.Client, url: str, request: dict[str, Any]) -> list[tuple[str, str]]:
    service = SERVICE_BY_HOOK[request["hook"]]
    try:
        response = http.post(f"{url}/cds-services/{service}", json=request)
    except httpx.HTTPError as error:
        raise DemoError(
            f"no answer from {url} ({type(error).__name__}): start the service "
            "with `benzo-cds serve`, or pass --url",
            code=1,
        ) from None
    if response.status_code == 401:
        raise DemoError(
            f"{url} requires a JWT (BENZO_CDS_JWT_REQUIRED): the demo calls a "
            "development service without one",
            code=1,
        )
    if response.status_code != 200:
        raise DemoError(f"{service} answered HTTP {response.status_code}", code=1)
    return sorted(
        (c["source"]["topic"]["code"], c["indicator"]) for c in response.json().get("cards", [])
    )


def _cards_text(cards: list[tuple[str, str]]) -> str:
    return ", ".join(f"{rule} ({indicator})" for rule, indicator in cards) or "none"


def print_request(root: Path, name: str, day: date) -> int:
    request = request_for_day(load_request(root, find_fixture(root, name)), day)
    print(json.dumps(request, indent=2))
    return 0


def run_all(root: Path, names: list[str], url: str, day: date) -> int:
    """POST each fixture moved to `day`; print its cards beside the expected ones."""
    chosen = [find_fixture(root, n) for n in names] or all_fixtures(root)
    if not chosen:
        raise DemoError(f"no hook fixtures under {root}/hooks or {root}/samples")
    expected = expected_cards(root)
    print(f"{url}: {len(chosen)} bundled requests, dates moved to {day.isoformat()}")
    width = max(len(n) for n in chosen)
    differ = skipped = 0
    with httpx.Client(timeout=30) as http:
        for name in chosen:
            request = load_request(root, name)
            if "prefetch" not in request:
                skipped += 1
                print(
                    f"{name:<{width}}  skipped: no prefetch (it reads its patient from a "
                    "FHIR server; see `benzo-cds fhir-server`)"
                )
                continue
            cards = _post(http, url, request_for_day(request, day))
            want = expected.get(name)
            if want is None:
                verdict = "(not in expected.json)"
            elif want == cards:
                verdict = "as listed"
            else:
                differ += 1
                verdict = f"DIFFERENT: fhir_fixtures/README.md lists {_cards_text(want)}"
            moved = "" if written_for(request) else " (no evaluation date: not moved)"
            print(f"{name:<{width}}  {_cards_text(cards)}  {verdict}{moved}")
    print(
        f"\n{len(chosen) - skipped} called, {len(chosen) - skipped - differ} as listed in "
        f"fhir_fixtures/README.md, {differ} different, {skipped} skipped"
    )
    return 1 if differ else 0


def run_demo(names: list[str], *, url: str, print_only: bool, fixtures: Path, day: date) -> int:
    """0 when every answer matches the list, 1 on a difference or a failed call, 2 on usage."""
    try:
        if not (fixtures / "hooks").is_dir():
            raise DemoError(
                f"no fixtures at {fixtures} (hooks/ is missing): run from a "
                "checkout, or set BENZO_CDS_FIXTURES_DIR or --fixtures"
            )
        if print_only:
            if len(names) != 1:
                raise DemoError("--print takes exactly one fixture name")
            return print_request(fixtures, names[0], day)
        return run_all(fixtures, names, url.rstrip("/"), day)
    except DemoError as error:
        print(f"benzo-cds demo: {error}", file=sys.stderr)
        return error.code
