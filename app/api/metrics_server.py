"""/metrics on a port of its own (BENZO_CDS_METRICS_PORT), beside the service port.

Each worker process serves it from a thread with its own event loop (uvicorn handles signals
only in the main thread, so the service's own shutdown is untouched). The socket is opened with
SO_REUSEPORT so every worker of `benzo-cds serve --workers N` binds the same port and the kernel
spreads scrapes over them, as it does for the service port.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.metrics_endpoint import metrics_response
from app.config import Settings

log = logging.getLogger("app")


class MetricsServer:
    """A running /metrics listener; `stop()` ends it."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _app(settings: Settings) -> Starlette:
    async def metrics(request: Request) -> Response:
        return metrics_response(settings, request.headers.get("authorization"))

    return Starlette(routes=[Route("/metrics", metrics)])


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def start_metrics_server(settings: Settings) -> MetricsServer | None:
    """Serve /metrics on settings.metrics_host:metrics_port; None (logged) if it cannot bind."""
    assert settings.metrics_port is not None
    try:
        sock = _socket(settings.metrics_host, settings.metrics_port)
    except OSError as error:
        log.error(
            "metrics port unavailable; /metrics is not served",
            extra={"port": settings.metrics_port, "error": type(error).__name__},
        )
        return None
    config = uvicorn.Config(_app(settings), lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="metrics-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    log.info("metrics served on their own port", extra={"port": settings.metrics_port})
    return MetricsServer(server, thread)
