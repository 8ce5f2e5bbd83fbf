"""Starlette plumbing shared by the endpoint modules: strict parameter reading, cookies,
JSON responses, and the one place errors are rendered, per route style: `error_json` (JSON
endpoints), `bearer_error` (userinfo), `registration_token_error` (RFC 7592), `error_page`
(before the client is verified); redirected errors are built by `konnect.oidc.authorize`."""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from konnect.oidc.errors import OAuthError
from konnect.oidc.params import single_valued
from konnect.oidc.session import CookieSpec
from konnect.oidc.urls import CookiePolicy

MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

NO_CACHE = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "origin",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: json.dumps with separators builds a new encoder on every call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def _decode_pairs(raw: bytes) -> list[tuple[str, str]]:
    try:
        text = raw.decode("ascii")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "parameters must be UTF-8 and URL-encoded") from None


def query_params(request: Request) -> dict[str, str]:
    return single_valued(_decode_pairs(request.scope.get("query_string", b"")))


async def form_params(request: Request) -> dict[str, str]:
    """A urlencoded POST body, parsed strictly (RFC 6749 §3.2 and Appendix B)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise OAuthError("invalid_request", f"the request body must be {FORM_TYPE}")
    body = await read_body(request, MAX_FORM_BYTES)
    return single_valued(_decode_pairs(body))


async def request_params(request: Request) -> dict[str, str]:
    """Parameters of an endpoint that takes GET (query) and POST (form body) alike."""
    if request.method == "POST":
        return await form_params(request)
    return query_params(request)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise OAuthError("invalid_request", "the request body is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise OAuthError("invalid_request", "the request body is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    content = _COMPACT_JSON.encode(body).encode()
    return Response(content, status, headers=dict(headers or {}), media_type="application/json")


def error_json(error: OAuthError, headers: Mapping[str, str] | None = None) -> Response:
    """An error of a JSON endpoint (token, revocation, introspection, registration); a client
    refused with 401 gets the Basic challenge (RFC 6749 §5.2)."""
    answer = {**NO_STORE, **(headers or {})}
    if error.error == "invalid_client" and error.status == 401:
        description = error.description.replace('"', "|")
        answer["WWW-Authenticate"] = (
            f'Basic error="{error.error}", error_description="{description}"'
        )
    return json_response(error.as_dict(), error.status, answer)


def bearer_error(error: OAuthError, headers: Mapping[str, str]) -> Response:
    """An error of userinfo (RFC 6750 §3): a missing or malformed token is answered like an
    invalid one, 401 with the challenge."""
    challenge = f'Bearer error="{error.error}", error_description="{error.description}"'
    headers = dict(headers)
    if error.status == 401 or error.error == "invalid_request":
        headers["WWW-Authenticate"] = challenge
    status = 401 if error.error == "invalid_request" else error.status
    return json_response(error.as_dict(), status, headers)


def registration_token_error(error: OAuthError) -> Response:
    """An error of reading a registration back (RFC 7592 §2.1): always 401 with a challenge."""
    headers = {**NO_STORE, "WWW-Authenticate": f'Bearer error="{error.error}"'}
    return json_response(error.as_dict(), 401, headers)


def error_page(request: Request, error: OAuthError) -> Response:
    """A page for errors that must not go back to the client (RFC 6749 §4.1.2.1)."""
    title = "This sign-in request cannot be completed"
    description = html.escape(error.description or error.error)
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><h1>{title}</h1>"
        f"<p>{description}</p><p><small>Error: {html.escape(error.error)}</small></p>"
        "<p>Please go back to the application and try again.</p></html>"
    )
    headers = {**NO_CACHE, "Content-Security-Policy": _PAGE_CSP, "X-Frame-Options": "DENY"}
    return Response(body, error.status, headers=headers, media_type="text/html")


def form_post_page(uri: str, params: Mapping[str, str]) -> Response:
    """OAuth 2.0 Form Post Response Mode: a page that posts the response to the client."""
    nonce = secrets.token_urlsafe(16)
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in params.items()
    )
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Submitting…</title>"
        f'<body><form method="post" action="{html.escape(uri)}">{fields}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        f'<script nonce="{nonce}">document.forms[0].submit();</script></body></html>'
    )
    parts = urlsplit(uri)
    target = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; form-action {target}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    headers = {**NO_CACHE, **NO_STORE, "Content-Security-Policy": csp}
    return Response(body, 200, headers=headers, media_type="text/html")


def apply_cookies(response: Response, cookies: Iterable[CookieSpec], policy: CookiePolicy) -> None:
    for spec in cookies:
        if spec.value is None:
            response.delete_cookie(
                spec.name,
                path=spec.path,
                secure=policy.secure,
                httponly=spec.http_only,
                samesite=policy.samesite,  # type: ignore[arg-type]
            )
        else:
            response.set_cookie(
                spec.name,
                spec.value,
                max_age=spec.max_age,
                path=spec.path,
                secure=policy.secure,
                httponly=spec.http_only,
                samesite=policy.samesite,  # type: ignore[arg-type]
            )
