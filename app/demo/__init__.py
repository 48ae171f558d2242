"""Bundled demo data moved to any day: date shifting for fixtures and bundles (no I/O here)."""
