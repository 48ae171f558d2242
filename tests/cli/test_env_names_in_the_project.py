"""Every BENZO_CDS_* name the project itself uses is one the start-up check knows."""

from __future__ import annotations

import re

from app.settings_check import known_variables
from tests.conftest import ROOT

# Names the settings tests spell wrong on purpose.
DELIBERATE_TYPOS = {
    "BENZO_CDS_COLOUR",
    "BENZO_CDS_ENV",
    "BENZO_CDS_JWT_REQUIERD",
    "BENZO_CDS_SNOOZE_DAY",
    "BENZO_CDS_TRUSTED_ISSUER",
}


def test_no_name_used_in_the_project_would_be_warned_about() -> None:
    files = [
        p
        for folder in ("app", "tests", "bench", "scripts")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".md", ".yaml", ".json")
    ]
    files += [ROOT / "README.md", ROOT / "Dockerfile", ROOT / "compose.yaml", ROOT / ".ci" / "run"]
    used = {
        name
        for path in files
        if path.is_file() and "node_modules" not in path.parts
        for name in re.findall(
            r"\bBENZO_CDS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8", errors="replace")
        )
    }
    assert used
    unknown = sorted(used - set(known_variables()) - DELIBERATE_TYPOS)
    assert unknown == [], "add them to Settings or to settings_check.OTHER_VARIABLES"
