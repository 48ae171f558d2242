"""Reading a JSON request body under a size cap."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from app.errors import InvalidRequest, PayloadTooLarge
from app.models.hooks import parse_json


async def read_json(request: Request, max_bytes: int) -> Any:
    """Return the parsed body; 413 past `max_bytes`, 400 when it is not JSON."""
    return parse_json(await read_body(request, max_bytes))


async def read_body(request: Request, max_bytes: int) -> bytes:
    """Return the body's bytes; 413 past `max_bytes`, 400 when empty."""
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    if declared is not None and declared.isdigit():
        if int(declared) > max_bytes:
            raise too_large
        # The server enforces Content-Length, so one read is safe and cheapest.
        raw = await request.body()
    else:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            chunks.append(chunk)
        raw = b"".join(chunks)
    if not raw:
        raise InvalidRequest("The request body is empty; a JSON object is expected.")
    return raw
