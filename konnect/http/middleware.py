"""ASGI middleware: refuse oversized requests before any handler reads them, and let work
done for a request notice that its caller hung up."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from konnect.outgoing import CALLER_GONE

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


class WatchCaller:
    """Outgoing requests made while serving a request stop when its caller hangs up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = _Caller(receive, send)
        token = CALLER_GONE.set(caller.gone)
        try:
            await self.app(scope, caller.receive, caller.send)
        finally:
            CALLER_GONE.reset(token)


class _Caller:
    """The caller's side of one request, as the handler and a watcher see it."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._read_ahead: Message | None = None
        self._body_read = False
        self._answered = False

    async def receive(self) -> Message:
        if self._read_ahead is not None:
            message, self._read_ahead = self._read_ahead, None
            return message
        message = await self._receive()
        self._body_read = self._body_read or not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._answered = True
        await self._send(message)

    async def gone(self) -> None:
        """Returns once the caller hangs up before its answer; never after it got one."""
        if not self._body_read:
            if self._read_ahead is not None:
                await _forever()
            # No handler read the body (a GET): read its one message ahead, kept for them.
            self._read_ahead = message = await self._receive()
            if message["type"] == "http.disconnect":
                return
            if message.get("more_body", False):
                await _forever()  # a body still arriving: the handler reads it, not us
            self._body_read = True
        while not self._answered:
            message = await self._receive()
            if message["type"] == "http.disconnect" and not self._answered:
                return
        await _forever()


async def _forever() -> None:
    await asyncio.Event().wait()
