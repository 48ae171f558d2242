"""The CLI tests' fixtures (a CLI subprocess, a live FHIR stand-in), shared here."""

from tests.cli.conftest import run_cli, standin

__all__ = ["run_cli", "standin"]
