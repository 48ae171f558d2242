"""Garbage-collector settings for a request-serving process.

A hook call allocates tens of thousands of short-lived dicts and lists (the parsed prefetch), so
CPython's default young-generation threshold (700) runs many collections per call, and each full
collection walks every long-lived object of the imported libraries (fhir.resources, pydantic).
Freezing the start-up heap and raising the threshold keeps cycles collected, but rarely.
"""

from __future__ import annotations

import gc


def tune_gc(threshold: int) -> None:
    """Freeze what start-up allocated and collect the young generation every `threshold` objects."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)
