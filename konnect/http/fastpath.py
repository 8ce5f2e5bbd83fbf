"""Answers for documents that never change while the server runs (discovery, JWKS, health).

They are the most requested documents of an identity provider and are the same bytes for
every client, so they are answered from prebuilt ASGI messages before any routing happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Prebuilt:
    """A complete response: content type, extra headers and body."""

    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def start_message(self) -> dict[str, object]:
        headers = [
            (b"content-type", self.content_type.encode()),
            (b"content-length", str(len(self.body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in self.headers),
        ]
        return {"type": "http.response.start", "status": 200, "headers": headers}


class FastPath:
    """Serves prebuilt GET/HEAD responses by exact path; everything else goes to the app."""

    def __init__(self, app: ASGIApp, responses: dict[str, Prebuilt]) -> None:
        self.app = app
        self._responses = {
            path: (response.start_message(), response.body) for path, response in responses.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            prebuilt = self._responses.get(scope["path"])
            if prebuilt is not None:
                start, body = prebuilt
                await send(start)
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"" if scope["method"] == "HEAD" else body,
                    }
                )
                return
        await self.app(scope, receive, send)
