"""The habits #18 asks for stay wired: pre-commit runs what CI runs, README names the tree."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_runs_ruff_lint_and_format_and_mypy() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    assert [e.split()[:2] for e in entries] == [["ruff", "check"], ["ruff", "format"], ["mypy"]]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("ruff check app", "ruff format --check app", "\nmypy\n"):
        assert command in ci, command


def _architecture() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[
        text.index("## Architecture") : text.index("\n## ", text.index("## Architecture") + 5)
    ]


def test_readme_architecture_names_paths_that_exist() -> None:
    named = set(re.findall(r"`(app/[\w/.]*)`", _architecture()))
    assert len(named) >= 15
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing


def test_readme_architecture_names_every_package() -> None:
    section = _architecture()
    packages = sorted(
        p.name for p in (ROOT / "app").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )
    unnamed = [p for p in packages if f"app/{p}/" not in section]
    assert not unnamed, unnamed
