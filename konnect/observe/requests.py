"""ASGI middleware giving every request an id and a client address, and counting it.

The id comes back in the `X-Request-Id` header of every answer, error answers included, and
stands in the log lines and audit events of that request. Requests are counted by route path,
never by raw URL, so the metrics stay bounded whatever URLs clients send.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from konnect.observe import context
from konnect.observe.events import Events

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"x-request-id"
UNMATCHED = "(unmatched)"
_FORWARDED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ObservedRequests:
    """Sets the request id and client address for the request, and reports its answer."""

    def __init__(
        self,
        app: App,
        events: Events,
        trusted_proxy: Callable[[str], bool],
        plain_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.events = events
        self.trusted_proxy = trusted_proxy
        self.plain_paths = frozenset(plain_paths)  # answered before routing, by exact path
        # Request ids: unique, not secret; a random prefix per process keeps workers and
        # restarts apart, a counter is cheaper than random bytes per request.
        self._id_prefix = secrets.token_hex(4)
        self._numbers = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, client_ip = self._identify(scope)
        id_token = context.request_id.set(request_id)
        ip_token = context.client_ip.set(client_ip)
        status = 500
        header = (HEADER, request_id.encode())

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: prebuilt answers send the same message every time.
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            self.events.request(self._route(scope), scope["method"], status, seconds)
            context.request_id.reset(id_token)
            context.client_ip.reset(ip_token)

    def _identify(self, scope: Scope) -> tuple[str, str]:
        """A new request id (or a trusted proxy's) and the client address (a trusted proxy's
        X-Forwarded-For names it; anyone else's is ignored)."""
        peer = scope["client"][0] if scope.get("client") else ""
        request_id = f"{self._id_prefix}{next(self._numbers):x}"
        if not self.trusted_proxy(peer):
            return request_id, peer
        forwarded_for = forwarded_id = ""
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1").split(",")[-1].strip()
            elif name == HEADER:
                forwarded_id = value.decode("latin-1")
        if _FORWARDED_ID.fullmatch(forwarded_id):
            request_id = forwarded_id
        return request_id, forwarded_for or peer

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        return scope["path"] if scope["path"] in self.plain_paths else UNMATCHED
