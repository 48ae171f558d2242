"""The layout's promise: lower floors never import higher ones (README "Architecture")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# Floors, lowest first; a module may import its own floor and the floors below it only.
FLOORS: list[set[str]] = [
    {"config", "errors", "record", "models", "fhir", "terminology", "settings_check"},
    {"normalize", "taper", "observability", "demo"},
    {"cards", "feedback", "planner", "security"},
    {"hooks", "bulk", "fhir_server"},
    {"api", "cli", "main"},
]


def _floor(package: str) -> int:
    return next(i for i, names in enumerate(FLOORS) if package in names)


def _modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n.split(".")[1] for n in names if n.startswith("app.") and "." in n)
    return found


def test_every_package_has_a_floor() -> None:
    packages = {p.stem if p.parent == APP else p.relative_to(APP).parts[0] for p in _modules()}
    packages.discard("__init__")
    assert packages <= set().union(*FLOORS), packages - set().union(*FLOORS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(APP)))
def test_no_module_imports_a_higher_floor(path: Path) -> None:
    own = path.stem if path.parent == APP else path.relative_to(APP).parts[0]
    if own == "__init__":
        return
    higher = {name for name in _imported_packages(path) if _floor(name) > _floor(own)}
    assert not higher, f"{path.relative_to(APP)} imports {sorted(higher)}"


# Lines that hold something: not blank, not only the brackets ruff format puts on a line of
# their own (its vertical style would otherwise count the same module ~10% longer).
_CLOSERS = re.compile(r"^\s*[\]}),]+:?\s*$")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(APP)))
def test_modules_stay_short(path: Path) -> None:
    # "About 300 lines": a module past 330 has grown two jobs.
    lines = path.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in lines if line.strip() and not _CLOSERS.match(line)) <= 330
