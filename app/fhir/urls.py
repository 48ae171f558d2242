"""The one URL normalization for every FHIR URL the service checks and then requests.

RFC 3986 section 6.2.2: lowercase scheme and host, explicit port, percent-decoding of unreserved
characters (so `%2e%2e` is `..`), uppercase hex elsewhere, then section 5.2.4 remove_dot_segments.
The result is what httpx sends, byte for byte (checked), so an allowlist or same-server test made
on it holds for the request. Forms that servers read differently from one another (a backslash,
`..;`, an encoded slash or NUL, double encoding) are refused rather than guessed at, and repeated
slashes are merged first because many servers merge them before resolving `..`.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_CHARS = 8192
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(
    r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?"
    r"|[0-9a-f:.]*:[0-9a-f:.]*"
)


class UrlError(ValueError):
    """A URL that cannot be requested safely; the message never repeats the URL."""


class UnsafeUrl(UrlError):
    """A well-formed URL refused for where it could lead (userinfo, ambiguous segments)."""


@dataclass(frozen=True)
class NormalUrl:
    """An absolute http(s) URL in normal form; `str()` is exactly what is requested."""

    scheme: str
    host: str  # lowercase ASCII (IDNA); an IPv6 literal without brackets
    port: int  # always explicit
    path: str  # percent-encoded, never empty, no dot segments
    query: str | None = None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    def __str__(self) -> str:
        query = f"?{self.query}" if self.query is not None else ""
        return f"{self.scheme}://{self.netloc}{self.path}{query}"

    def is_under(self, base: NormalUrl) -> bool:
        """Same scheme, host and port, and the path is the base path or below it (by segment)."""
        if (self.scheme, self.host, self.port) != (base.scheme, base.host, base.port):
            return False
        root = base.path.rstrip("/")
        return self.path in (root, root + "/") or self.path.startswith(root + "/")


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, step by step."""
    source = path
    output: list[str] = []
    while source:
        if source.startswith("../"):
            source = source[3:]
        elif source.startswith("./"):
            source = source[2:]
        elif source.startswith("/./") or source == "/.":
            source = "/" + source[3:]
        elif source.startswith("/../") or source == "/..":
            source = "/" + source[4:]
            if output:
                output.pop()
        elif source in (".", ".."):
            source = ""
        else:
            end = source.find("/", 1)
            end = len(source) if end == -1 else end
            output.append(source[:end])
            source = source[end:]
    return "".join(output)


def normalize_url(url: str, base: NormalUrl | None = None) -> NormalUrl:
    """`url` (resolved against `base` when relative) in normal form, or raise UrlError."""
    if not isinstance(url, str):
        raise UrlError("is not a string")
    text = url.strip(" \t\r\n")
    if not text:
        raise UrlError("is empty")
    if len(text) > MAX_URL_CHARS:
        raise UrlError(f"is longer than {MAX_URL_CHARS} characters")
    if _CONTROL.search(text):
        raise UrlError("contains a control character")
    if "\\" in text:
        raise UrlError("contains a backslash")
    try:
        parsed = httpx.URL(text)
        if base is not None:
            # The base is a directory: "Patient/1" against ".../r4" means ".../r4/Patient/1".
            directory = f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}/"
            parsed = httpx.URL(directory).join(parsed)
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        raise UrlError("is not a valid URL") from None
    normal = _from_parsed(parsed)
    _check_sent_as_is(normal)
    return normal


def _from_parsed(parsed: httpx.URL) -> NormalUrl:
    scheme = parsed.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlError("is not an absolute http(s) URL")
    if parsed.userinfo:
        raise UnsafeUrl("carries user information")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeError:
        raise UrlError("has an invalid host") from None
    if not host or not _HOST.fullmatch(host):
        raise UrlError("has an invalid host")
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise UrlError("has an invalid port")
    raw_path = parsed.raw_path.decode("ascii").split("?", 1)[0]
    query = parsed.query.decode("ascii") if b"?" in parsed.raw_path else None
    return NormalUrl(scheme, host, port, _normal_path(raw_path), query)


def _normal_path(path: str) -> str:
    if _BAD_PERCENT.search(path):
        raise UrlError("has a malformed percent-encoding")
    path = _PERCENT.sub(_decode_unreserved, path)
    if any(_ambiguous(segment) for segment in path.split("/")):
        raise UnsafeUrl("has a path segment that servers read differently")
    path = re.sub(r"/{2,}", "/", path)
    path = remove_dot_segments(path if path.startswith("/") else "/" + path)
    return path or "/"


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _ambiguous(segment: str) -> bool:
    """A segment some server would decode (again) or strip into a dot segment or a separator."""
    decoded = segment
    for _ in range(3):
        decoded = unquote(decoded)
    bare = decoded.split(";", 1)[0]
    if bare in (".", "..") and segment not in (".", ".."):
        return True
    return any(char in decoded for char in "/\\\x00")


def _check_sent_as_is(normal: NormalUrl) -> None:
    """httpx sends our string unchanged; anything else means we checked another URL."""
    try:
        sent = httpx.URL(str(normal))
    except (httpx.InvalidURL, ValueError):
        raise UrlError("is not a valid URL") from None
    expected = normal.path + (f"?{normal.query}" if normal.query is not None else "")
    port = sent.port if sent.port is not None else DEFAULT_PORTS.get(sent.scheme)
    if (sent.scheme, sent.raw_host.decode("ascii"), port, sent.raw_path.decode("ascii")) != (
        normal.scheme,
        normal.host,
        normal.port,
        expected,
    ):
        raise UrlError("would not be sent as checked")
