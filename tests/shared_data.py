"""Where the developers' ../shared folder is, and a skip marker for tests that derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def needs_shared(relative: str) -> pytest.MarkDecorator:
    """Skip unless ../shared/<relative> exists: such a test checks how data was derived."""
    path = SHARED / relative
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"derivation check: needs ../shared/{relative} beside the checkout "
        f"({path} is absent); the project's own copies are tested without it",
    )
