"""Pure ASGI middleware giving each request an id (for logs and the X-Request-ID header).

Pure ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware re-streams the
body and response through extra tasks, which cost more than the whole rule run on a big request.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import request_id_var

_VALID = re.compile(rb"^[A-Za-z0-9\-_.]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        rid = given if _VALID.match(given) else uuid.uuid4().hex.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        token = request_id_var.set(rid.decode())
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
