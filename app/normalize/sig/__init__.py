"""The sig reader: FHIR Dosage structures and free-text sigs -> amounts, times a day, phases.

``vocabulary.json`` holds the words and codes (with their sources), ``prep`` and ``text`` the
free-text grammar, ``structured`` the FHIR fields. ``app.normalize.dosage`` turns the readings
into mg a day with a confidence.
"""

from app.normalize.sig.model import Amount, Part, Phase, Sig, Span
from app.normalize.sig.text import parse_text, timing_text

__all__ = ["Amount", "Part", "Phase", "Sig", "Span", "parse_text", "timing_text"]
