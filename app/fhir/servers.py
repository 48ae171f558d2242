"""Where the FHIR token may go: the fhirServer allowlist and the same-server check for URLs.

Every URL is first put in normal form by `app.fhir.urls.normalize_url` (dot segments removed, `%2e`
decoded, ...), and the normal form is both what is checked and what is requested. A URL is
"under" a base when scheme, host and port match (default ports made explicit) and its path is
the base path or below it, compared segment by segment, so `https://ehr.example/fhir` covers
`https://ehr.example/fhir/Patient/1` but not `https://ehr.example/fhirevil`,
`https://ehr.example/fhir/../admin` nor `https://ehr.example@evil.example/fhir`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from app.fhir.urls import NormalUrl, UnsafeUrl, UrlError, normalize_url


class OffServer(Exception):
    """A well-formed URL that, once normalized, lies outside the FHIR server base or could
    lead elsewhere (userinfo, segments that servers read differently)."""


@dataclass(frozen=True)
class BaseUrl:
    """A FHIR server base in normal form."""

    url: NormalUrl

    def __str__(self) -> str:
        return f"{self.url.scheme}://{self.url.netloc}{self.url.path.rstrip('/')}"

    def covers(self, url: str) -> bool:
        """True when `url` (absolute), once normalized, is this base or below it."""
        try:
            return normalize_url(url).is_under(self.url)
        except UrlError:
            return False

    def locate(self, url: str) -> str:
        """The normalized URL to request for `url` (absolute, or relative to this base).

        Raises UrlError when it is not a valid URL, OffServer when it lies (or may lead) outside.
        """
        try:
            normal = normalize_url(url, self.url)
        except UnsafeUrl:
            raise OffServer from None
        if not normal.is_under(self.url):
            raise OffServer
        return str(normal)


def parse_base(url: str) -> BaseUrl | None:
    """The FHIR base for an absolute http(s) URL; None when it is not one."""
    try:
        return BaseUrl(normalize_url(url))
    except UrlError:
        return None


def _plain_base(url: str) -> bool:
    """A server base never carries userinfo, a query, a fragment or dot segments."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in url or "#" in url:
        return False
    return not any(seg in (".", "..") for seg in unquote(parts.path).split("/"))


def is_allowed(server: str, allowed: Sequence[str] | None) -> bool:
    """None allows every server (development); otherwise the server must sit under a listed base."""
    if not _plain_base(server):
        return False
    base = parse_base(server)
    if base is None:
        return False
    if allowed is None:
        return True
    bases = [b for b in (parse_base(a) for a in allowed) if b is not None]
    return any(base.url.is_under(b.url) for b in bases)
