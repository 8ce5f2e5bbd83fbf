"""Starlette handlers of the Jitsi issuer: login (token and redirect), ASAP keys, logout.

`/jitsi/login` and `/jitsi/logout` are where LemonLDAP::NG's Jitsi issuer answers, so its
docker-jitsi-meet values work unchanged. The login itself runs below the identifier API's
folder, where the browser sends konnect's sign-in cookie.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from konnect.crypto import public_subject
from konnect.identity import BackendUnavailable, User, provider_tag
from konnect.jitsi.asap import asap_directory
from konnect.jitsi.config import JitsiServer, JitsiServers
from konnect.jitsi.rooms import InvalidRoom, Room, parse_room
from konnect.jitsi.tokens import Participant, is_moderator, may_join, sign_token, token_claims
from konnect.oidc.endpoints import ErrorPage
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.responses import NO_CACHE, NO_STORE, query_params
from konnect.oidc.signin_sessions import cookie_user, current_logon, logon_user

_KEY_FILE = re.compile(r"[0-9a-f]{64}\.pem")
_PEM_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def pick_server(servers: Mapping[str, JitsiServer], name: str | None) -> JitsiServer:
    """The server a request names, or the only one; OAuthError otherwise."""
    if name is None and len(servers) == 1:
        return next(iter(servers.values()))
    if name is None:
        raise OAuthError("invalid_request", "The meeting link does not name its Jitsi server.")
    server = servers.get(name)
    if server is None:
        raise OAuthError("invalid_request", "The meeting link names an unknown Jitsi server.")
    return server


async def signed_in_user(provider: Provider, request: Request) -> User | None:
    """The user the browser is signed in as, as they are now (see `logon_user`)."""
    try:
        if provider.browser_sign_in is not None:
            backend = provider.browser_sign_in
            return await cookie_user(provider, backend, request.cookies, request.headers)
        logon = await current_logon(provider, request.cookies)  # signed out: no token
        return None if logon is None else await logon_user(provider, logon)
    except BackendUnavailable as error:
        provider.log.error("Jitsi: the identity backend failed: %s", error)
        raise OAuthError(
            "temporarily_unavailable", "The user directory is unavailable, try again later."
        ) from None


class JitsiIssuer:
    """Issues Jitsi tokens to signed-in users of the configured Jitsi servers."""

    def __init__(self, provider: Provider, config: JitsiServers, error_page: ErrorPage) -> None:
        self.provider = provider
        self.servers = config.servers
        self.error_page = error_page
        self.key_files = asap_directory(provider.keys)
        endpoints = provider.endpoints
        self.prefix = f"{endpoints.base_path}/jitsi"
        self.login_path = endpoints.identifier_api + "jitsi/login"

    def routes(self) -> list[Route]:
        return [
            Route(self.prefix + "/login", self.login_entry, methods=["GET"]),
            Route(self.login_path, self.login, methods=["GET"]),
            Route(self.prefix + "/asap/{name}", self.asap_key, methods=["GET", "HEAD"]),
            Route(self.prefix + "/logout", self.logout, methods=["GET"]),
        ]

    # -- login --------------------------------------------------------------------------
    async def login_entry(self, request: Request) -> Response:
        """On to the login below the identifier folder, where the sign-in cookie is sent."""
        query = request.scope.get("query_string", b"").decode("latin-1")
        location = self.login_path + ("?" + query if query else "")
        return RedirectResponse(location, 302, headers=NO_STORE)

    async def login(self, request: Request) -> Response:
        try:
            params = query_params(request)
            server = pick_server(self.servers, params.get("server"))
            room = _room(params)
            user = await signed_in_user(self.provider, request)
            if user is None:
                return self._sign_in_first(request)
            if not may_join(server, user.groups):
                raise OAuthError(
                    "access_denied", "Your account may not join meetings on this Jitsi server."
                )
            token = await self._token(server, room, user)
            self.provider.events.jitsi_token("user", server.id, room.path, user.username)
        except OAuthError as error:
            return self.error_page(request, error)
        location = f"{server.url}/{room.path}?{urlencode({'jwt': token})}"
        return RedirectResponse(location, 302, headers={**NO_CACHE, **NO_STORE})

    def _sign_in_first(self, request: Request) -> Response:
        """The sign-in page, which comes back here once the user is signed in."""
        endpoints = self.provider.endpoints
        back = endpoints.url(self.login_path) + "?" + request.url.query
        location = endpoints.signin_url
        separator = "&" if "?" in location else "?"
        location += separator + urlencode({"continue": back})
        return RedirectResponse(location, 302, headers={**NO_CACHE, **NO_STORE})

    async def _token(self, server: JitsiServer, room: Room, user: User) -> str:
        person = Participant(
            id=public_subject(user.subject, provider_tag(user, self.provider.backend.name)),
            name=user.name or user.username,
            email=user.email,
            groups=frozenset(user.groups),
        )
        claims = token_claims(
            server,
            room,
            person,
            moderator=is_moderator(server, user.groups),
            now=self.provider.now(),
        )
        return await self.signed(server, claims)

    async def signed(self, server: JitsiServer, claims: dict[str, Any]) -> str:
        """The token, RSA signatures on the signing pool as for every other token."""
        if server.asap:
            return await self.provider.signing(
                lambda: sign_token(server, claims, self.provider.keys), server.alg
            )
        return sign_token(server, claims, self.provider.keys)

    # -- ASAP key server ----------------------------------------------------------------
    async def asap_key(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        pem = self.key_files.get(name) if _KEY_FILE.fullmatch(name) else None
        if pem is None:
            return Response("not found", 404, headers=_PEM_HEADERS, media_type="text/plain")
        return Response(pem, headers=_PEM_HEADERS, media_type="application/x-pem-file")

    # -- logout -------------------------------------------------------------------------
    async def logout(self, request: Request) -> Response:
        """The signed-out page, which asks before ending the session (a link elsewhere must
        not sign anybody out) and then returns to the Jitsi server."""
        provider = self.provider
        location = provider.endpoints.signed_out_url
        try:
            back = pick_server(self.servers, query_params(request).get("server")).url + "/"
        except OAuthError:
            back = None
        if back is not None:
            sealed = provider.cookies.seal_logout_return(back, provider.now())
            separator = "&" if "?" in location else "?"
            location += separator + urlencode({"logout": sealed})
        return RedirectResponse(location, 302, headers={**NO_CACHE, **NO_STORE})


def _room(params: Mapping[str, str]) -> Room:
    try:
        return parse_room(params.get("room"))
    except InvalidRoom as error:
        raise OAuthError("invalid_request", str(error)) from None
