"""String types for absolute http(s) URLs that serialize exactly as given."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from app.fhir.urls import UnsafeUrl, UrlError, normalize_url


def _absolute(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return url


def _requestable(url: str) -> str:
    """A URL the service could request; where it may be sent is the allowlist's business."""
    try:
        normalize_url(url)
    except UnsafeUrl:
        pass
    except UrlError as error:
        # The value is the caller's and is not echoed (it may hold control characters).
        raise ValueError(f"not a usable absolute http(s) URL (it {error})") from None
    return url


AbsoluteUrl = Annotated[str, AfterValidator(_absolute)]
# A fhirServer: absolute, and one that httpx can request once normalized (app/fhir/urls.py).
RequestableUrl = Annotated[str, AfterValidator(_requestable)]
