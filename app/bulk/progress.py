"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_REDRAW_SECONDS = 0.2


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label, self.total, self.done, self.unit = "", 0, 0, ""
        self.started = self.drawn = 0.0

    def phase(self, label: str, total: int, unit: str = "") -> None:
        self.finish()
        self.label, self.total, self.done, self.unit = label, total, 0, unit
        self.started = time.monotonic()
        self.drawn = 0.0
        self._draw(force=True)

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        self._draw()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled or not self.label:
            return
        now = time.monotonic()
        if not force and now - self.drawn < _REDRAW_SECONDS and self.done < self.total:
            return
        self.drawn = now
        share = self.done / self.total if self.total else 1.0
        filled = int(30 * min(1.0, share))
        elapsed = now - self.started
        eta = f" ~{elapsed / share - elapsed:.0f}s left" if 0 < share < 1 else ""
        self.stream.write(
            f"\r{self.label:<11} [{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}{eta}   "
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.label:
            self.done = self.total
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
        self.label = ""
