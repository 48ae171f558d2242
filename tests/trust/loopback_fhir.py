"""A tiny FHIR server on 127.0.0.1 that records every request line and Authorization header.

Built on the standard library's HTTP server so the request target is recorded exactly as it
arrived on the wire (no framework normalizes it first). It resolves paths the way a lenient
server does (percent-decoding, then `..`), serves one fixture patient under /fhir, and answers
anything else with a plausible FHIR Bundle, so a leak would look like success to the caller.
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.trust.conftest import standin_files

EMPTY_PAGE = {"resourceType": "Bundle", "type": "searchset", "entry": []}
MEDICATION = {
    "resourceType": "Medication",
    "id": "m1",
    "code": {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "197901",
                "display": "lorazepam 1 MG Oral Tablet",
            }
        ],
        "text": "lorazepam 1 MG Oral Tablet",
    },
}


@dataclass(frozen=True)
class Seen:
    target: str  # the request target as sent
    authorization: str | None

    @property
    def resolved(self) -> str:
        """The path as a lenient server reads it: decoded (twice), `;params` cut, `..` resolved."""
        path = unquote(unquote(urlsplit(self.target).path)).replace("\\", "/")
        path = "/".join(segment.split(";", 1)[0] for segment in path.split("/"))
        return posixpath.normpath(path)


@dataclass
class Listener:
    base: str  # http://127.0.0.1:<port>/fhir
    seen: list[Seen] = field(default_factory=list)

    def outside(self) -> list[Seen]:
        """Requests that reached anything but /fhir/..."""
        return [s for s in self.seen if not s.resolved.startswith("/fhir/")]


def _answer(target: str, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    parts = urlsplit(target)
    path = Seen(target, None).resolved
    patient = files["Patient"]
    if path == f"/fhir/Patient/{patient['id']}":
        return patient
    kind = path.removeprefix("/fhir/")
    if kind.startswith("Medication/"):
        return MEDICATION
    if kind in files and parse_qs(parts.query).get("patient") == [patient["id"]]:
        return files[kind]
    return EMPTY_PAGE


@contextmanager
def loopback_fhir(folder: str = "overlap-patient") -> Iterator[Listener]:
    """Serve on a free port picked at run time; stop and join on exit."""
    files = standin_files(folder)
    listener = Listener(base="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                listener.seen.append(Seen(self.path, self.headers.get("Authorization")))
            body = json.dumps(_answer(self.path, files)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    listener.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
