"""Last-resort error handling: unknown paths, wrong methods and unexpected exceptions.

Nothing internal ever reaches a response: an unexpected exception is logged with its
traceback and answered with a plain `server_error`.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from konnect.oidc.errors import OAuthError
from konnect.oidc.responses import NO_STORE, json_response

log = logging.getLogger("konnect.http")


async def http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    error = {404: "not_found", 405: "method_not_allowed"}.get(status, "invalid_request")
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return json_response(OAuthError(error).as_dict(), status, {**headers, **NO_STORE})


async def unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    body = OAuthError("server_error", "the server could not complete the request").as_dict()
    return json_response(body, 500, NO_STORE)
