"""Where the FHIR token may go: the fhirServer allowlist and the same-server check for URLs.

A URL is "under" a base when scheme, host and port match (default ports made explicit) and its
path is the base path or below it, compared segment by segment, so `https://ehr.example/fhir`
covers `https://ehr.example/fhir/Patient/1` but not `https://ehr.example/fhirevil` nor
`https://ehr.example@evil.example/fhir`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class BaseUrl:
    scheme: str
    host: str
    port: int
    path: str  # without trailing slash; "" for the server root

    def __str__(self) -> str:
        default = _DEFAULT_PORTS[self.scheme] == self.port
        netloc = self.host if default else f"{self.host}:{self.port}"
        if ":" in self.host:  # IPv6 literal
            netloc = f"[{self.host}]" if default else f"[{self.host}]:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"

    def join(self, relative: str) -> str:
        return f"{self}/{relative.lstrip('/')}"

    def covers(self, url: str) -> bool:
        """True when `url` is on this server and at or below this base path."""
        other = parse_base(url)
        if other is None:
            return False
        if (other.scheme, other.host, other.port) != (self.scheme, self.host, self.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")

    def resolve(self, url: str) -> str:
        """Make a possibly relative link absolute against this base."""
        return urljoin(str(self) + "/", url)


def parse_base(url: str) -> BaseUrl | None:
    """Split an absolute http(s) URL into a comparable base; None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return BaseUrl(scheme=scheme, host=parts.hostname.lower(),
                   port=port if port is not None else _DEFAULT_PORTS[scheme],
                   path=parts.path.rstrip("/"))


def _plain_base(url: str) -> bool:
    """A server base never carries userinfo, a query, a fragment or dot segments."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    if "@" in parts.netloc or parts.query or parts.fragment or "\\" in url:
        return False
    return not any(seg in (".", "..") for seg in unquote(parts.path).split("/"))


def is_allowed(server: str, allowed: Sequence[str] | None) -> bool:
    """None allows every server (development); otherwise the server must sit under a listed base."""
    if not _plain_base(server):
        return False
    if allowed is None:
        return parse_base(server) is not None
    bases = [b for b in (parse_base(a) for a in allowed) if b is not None]
    return any(base.covers(server) for base in bases)
