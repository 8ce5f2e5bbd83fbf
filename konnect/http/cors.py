"""Cross-origin access for browser apps: preflights and the allow-origin header of answers.

Only the endpoints a browser app calls itself take part: discovery, JWKS, token, userinfo,
revocation and introspection. None of them reads cookies and no answer allows credentials,
so a browser never sends cookies along; each endpoint trusts only what the request carries
(a bearer token, a code with its PKCE verifier, client credentials). Any origin may call
them, except introspection: it is meant for resource servers with a client secret, so only
the origins registered for clients may call it from a browser. Every other path (authorize,
the sign-in API and web app) stays same-origin: its preflights are not answered here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from konnect.clients import ClientRegistration
from konnect.oidc.provider import Provider

ANY_ORIGIN = None
PREFLIGHT_MAX_AGE = "600"
# `*` does not cover Authorization, so it is named.
ALLOWED_HEADERS = "Authorization, *"
# Bearer and client authentication errors say what went wrong in this header (RFC 6750 §3).
EXPOSED = (b"access-control-expose-headers", b"WWW-Authenticate")


@dataclass(frozen=True)
class CorsRule:
    """Which methods an endpoint allows cross-origin, and from which origins (None: any)."""

    methods: str
    origins: frozenset[str] | None = ANY_ORIGIN

    def allow_origin(self, origin: str) -> list[tuple[bytes, bytes]] | None:
        """The headers that let `origin` read the answer, or None when it may not."""
        if self.origins is ANY_ORIGIN:
            return [(b"access-control-allow-origin", b"*")]
        if origin not in self.origins:
            return None
        return [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]


def cors_rules(provider: Provider) -> dict[str, CorsRule]:
    endpoints = provider.endpoints
    documents = CorsRule("GET, HEAD")
    posted = CorsRule("POST")
    return {
        endpoints.discovery: documents,
        endpoints.jwks: documents,
        endpoints.token: posted,
        endpoints.revocation: posted,
        endpoints.userinfo: CorsRule("GET, POST"),
        endpoints.introspection: CorsRule("POST", registered_origins(provider.clients)),
    }


def registered_origins(clients: Iterable[ClientRegistration]) -> frozenset[str]:
    return frozenset(origin for client in clients for origin in client.origins)


class Cors:
    """Answers preflights of the rule paths and marks their answers readable cross-origin."""

    def __init__(self, app: ASGIApp, rules: Mapping[str, CorsRule]) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.rules.get(scope["path"]) if scope["type"] == "http" else None
        origin = _origin(scope) if rule else None
        if rule is None or origin is None:
            await self.app(scope, receive, send)
            return
        allowed = rule.allow_origin(origin)
        if scope["method"] == "OPTIONS" and _asks_permission(scope):
            await _preflight(send, rule, allowed)
            return
        await self.app(scope, receive, _with_headers(send, [*allowed, EXPOSED] if allowed else []))


def _origin(scope: Scope) -> str | None:
    """The Origin header, read without building a Headers object (most requests have none)."""
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in raw:
        if name == b"origin":
            return value.decode("latin-1")
    return None


def _asks_permission(scope: Scope) -> bool:
    """A CORS preflight, not just any OPTIONS request."""
    return "access-control-request-method" in Headers(scope=scope)


async def _preflight(send: Send, rule: CorsRule, allowed: list[tuple[bytes, bytes]] | None) -> None:
    headers = [(b"content-length", b"0")]
    if allowed is not None:
        headers += [
            *allowed,
            (b"access-control-allow-methods", rule.methods.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        ]
    else:
        headers.append((b"vary", b"Origin"))
    status = 204 if allowed is not None else 403
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """Adds the CORS headers to the answer, except those the endpoint set itself."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and extra:
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            added = [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": headers + added}
        await send(message)

    return sending
