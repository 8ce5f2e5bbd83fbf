"""ASGI middleware: refuse oversized requests before any handler reads them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 32 * 1024


class RequestLimits:
    """Oversized header blocks and declared bodies get a clean 413/431 JSON answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        header_size = sum(len(name) + len(value) for name, value in headers)
        if header_size > MAX_HEADER_BYTES:
            await _refuse(send, 431, "request headers are too large")
            return
        for name, value in headers:
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
                await _refuse(send, 413, "the request body is too large")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, description: str) -> None:
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
