"""Serving the sign-in web app (`identifier_ui/`) at Konnect's paths, with a strict CSP."""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from konnect.config.errors import ConfigError
from konnect.oidc.provider import Provider
from konnect.oidc.responses import NO_CACHE

PAGES = ("identifier", "chooseaccount", "consent", "welcome", "goodbye", "index.html")
_CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_PAGE_HEADERS = {
    **NO_CACHE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": _CSP,
}
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


def load_index(folder: Path, prefix: str) -> str:
    index = folder / "index.html"
    try:
        text = index.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(
            [f"identifier client: {index} is missing (set --identifier-client-path)"]
        ) from None
    return text.replace("__PATH_PREFIX__", prefix)


def webapp_routes(provider: Provider, folder: Path, *, disabled: bool = False) -> list[Route]:
    prefix = provider.endpoints.signin_prefix
    index = "" if disabled else load_index(folder, prefix)
    static_root = (folder / "static").resolve()

    async def page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        body = index.replace("__CSP_NONCE__", nonce)
        return Response(body, headers=_PAGE_HEADERS, media_type="text/html")

    async def static(request: Request) -> Response:
        relative = str(request.path_params["path"])
        target = (static_root / relative).resolve()
        suffix = target.suffix.lower()
        if (
            disabled
            or not target.is_relative_to(static_root)
            or suffix not in _STATIC_TYPES
            or not target.is_file()
        ):
            return Response("not found", 404, media_type="text/plain")
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        return FileResponse(target, headers=headers, media_type=_STATIC_TYPES[suffix])

    routes = [Route(f"{prefix}/{name}", page, methods=["GET", "HEAD"]) for name in PAGES]
    routes.append(Route(prefix + "/static/{path:path}", static, methods=["GET", "HEAD"]))
    return routes
