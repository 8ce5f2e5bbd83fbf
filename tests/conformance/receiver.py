"""A relying party's own endpoints on a loopback port, as the conformance suite hosts them:
the front-channel and back-channel logout URIs, and documents it publishes (JWKS,
sector_identifier_uri). It records every request so the tests can check what konnect sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import RunningServer, free_port

FRONTCHANNEL_PATH = "/frontchannel_logout"
BACKCHANNEL_PATH = "/backchannel_logout"


@dataclass
class Received:
    """One request as the relying party saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    form: dict[str, list[str]] = field(default_factory=dict)


class Receiver:
    """Starts on a free loopback port; `documents` maps paths to the JSON served there."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.documents: dict[str, Any] = {}
        routes = [
            Route(FRONTCHANNEL_PATH, self._frontchannel, methods=["GET"]),
            Route(BACKCHANNEL_PATH, self._backchannel, methods=["POST"]),
            Route("/{name:path}", self._document, methods=["GET"]),
        ]
        self.server = RunningServer(Starlette(routes=routes), free_port())
        self.server.start()
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()

    def _record(self, request: Request, body: bytes = b"") -> None:
        content_type = request.headers.get("content-type", "")
        form = parse_qs(body.decode()) if content_type.startswith("application/x-www-form") else {}
        query = parse_qs(request.url.query, keep_blank_values=True)
        self.received.append(Received(request.method, request.url.path, query, content_type, form))

    async def _frontchannel(self, request: Request) -> Response:
        self._record(request)
        page = b"<!doctype html><title>signed out</title>"
        return Response(page, media_type="text/html", headers={"Cache-Control": "no-store"})

    async def _backchannel(self, request: Request) -> Response:
        self._record(request, await request.body())
        return Response(b"", 200, headers={"Cache-Control": "no-store"})

    async def _document(self, request: Request) -> Response:
        self._record(request)
        path = request.url.path
        if path not in self.documents:
            return Response(b"", 404)
        document = self.documents[path]
        if isinstance(document, str):  # a request object (RFC 9101 §5.2)
            return Response(document, media_type="application/oauth-authz-req+jwt")
        return JSONResponse(document)

    def at(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

    def wait_for(
        self, path: str, timeout: float = 10, where: Callable[[Received], bool] = lambda _: True
    ) -> Received:
        """The first request at `path` that `where` accepts, once it has arrived."""
        deadline = time.monotonic() + timeout
        while (found := next((item for item in self.at(path) if where(item)), None)) is None:
            assert time.monotonic() < deadline, f"nothing arrived at {path}"
            time.sleep(0.02)
        return found
