"""Logs, metrics and request ids (no patient data in any)."""
