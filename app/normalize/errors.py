"""The one exception normalization raises internally; build_record turns it into a skip count."""

from __future__ import annotations


class Malformed(ValueError):
    """A resource (or a part a rule needs) cannot be read; the message holds no patient data."""
