"""FHIR R4 primitive rules for the values a suggested resource copies from the EHR.

The builders in app/cards own each resource's structure (tests prove it valid R4B); at run time
only the values that come from EHR data are checked, by the rules fhir.resources (pydantic-core,
Rust regex) applies to their types:
- ``string``: at least one character that is a space, CR, LF, tab or not Unicode White_Space
  (the unanchored pattern ``[ \\r\\n\\t\\S]+``), so a value of only NBSP, VT or U+2028 fails;
- ``code``: ``^[^\\s]+(\\s[^\\s]+)*$`` with Unicode White_Space as ``\\s``;
- ``uri`` and ``markdown``: any text (their patterns match anywhere);
- every text: encodable as UTF-8 (no lone surrogates).
tests/cards/test_fhir_values.py proves these keep and drop what full validation keeps and drops.
"""

from __future__ import annotations

import re

# Unicode White_Space, as the Rust regex crate reads \s (not Python's str.isspace, which also
# counts U+001C..U+001F).
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_STRING_CHAR = re.compile(f"[ \r\n\t]|[^{_WS}]")
_CODE = re.compile(f"[^{_WS}]+(?:[{_WS}][^{_WS}]+)*")


def utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_string(value: str) -> bool:
    return _STRING_CHAR.search(value) is not None and utf8(value)


def is_code(value: str) -> bool:
    return _CODE.fullmatch(value) is not None and utf8(value)


class EhrValues:
    """The EHR-derived values one suggested resource carries, checked as they are added.

    Empty values are not checked: the builders prune them (CDS Hooks JSON carries no empties).
    """

    __slots__ = ("ok",)

    def __init__(self) -> None:
        self.ok = True

    def string(self, value: str | None) -> str | None:
        """A value that is a whole FHIR string element (a name, a reference)."""
        if value and not is_string(value):
            self.ok = False
        return value

    def code(self, value: str | None) -> str | None:
        if value and not is_code(value):
            self.ok = False
        return value

    def text(self, value: str | None) -> str | None:
        """A value written into the builder's own text, or a uri / markdown element."""
        if value and not utf8(value):
            self.ok = False
        return value

    def coding(self, found: dict[str, str] | None) -> dict[str, str] | None:
        """A Coding copied from EHR data (system uri, code, display string)."""
        if found is not None:
            self.text(found.get("system"))
            self.code(found.get("code"))
            self.string(found.get("display"))
        return found
