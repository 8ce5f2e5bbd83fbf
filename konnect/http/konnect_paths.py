"""Konnect's other endpoint paths: each redirects, query and body kept, to konnect's own.

Konnect's cookie manager authorized at /konnect/v1/authorize, and its cookie and dummy
managers at --authorization-endpoint-uri and --endsession-endpoint-uri. konnect answers at
its sign-in paths for every manager, where its session cookies are sent; relying parties
configured with one of the old addresses are sent on there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from konnect.config.model import Settings
from konnect.oidc.responses import NO_STORE
from konnect.oidc.urls import Endpoints

COOKIE_MANAGER_AUTHORIZE = "/konnect/v1/authorize"


def konnect_path_routes(settings: Settings, endpoints: Endpoints) -> list[Route]:
    """Redirecting routes for Konnect's paths; add them after every route of konnect's own."""
    moved: dict[str, str] = {}
    if settings.identity_manager == "cookie":
        moved[endpoints.base_path + COOKIE_MANAGER_AUTHORIZE] = endpoints.authorize
    if settings.authorization_endpoint_uri:
        moved[settings.authorization_endpoint_uri] = endpoints.authorize
    if settings.endsession_endpoint_uri:
        moved[settings.endsession_endpoint_uri] = endpoints.endsession
    return [
        Route(path, _redirect_to(endpoints.url(target)), methods=["GET", "POST"])
        for path, target in moved.items()
        if path != target
    ]


def _redirect_to(url: str) -> Callable[[Request], Awaitable[Response]]:
    async def redirect(request: Request) -> Response:
        query = request.url.query
        # 307: a POSTed authorization request is sent on with its form.
        return RedirectResponse(url + ("?" + query if query else ""), 307, headers=NO_STORE)

    return redirect
