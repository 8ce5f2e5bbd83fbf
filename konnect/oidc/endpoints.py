"""Thin Starlette handlers for the provider endpoints: read the request, call the rules, answer."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from konnect.clients import ClientRegistration
from konnect.oidc.authorize import authorize
from konnect.oidc.check_session import check_session_page
from konnect.oidc.discovery import discovery_bytes
from konnect.oidc.endsession import end_session
from konnect.oidc.errors import OAuthError
from konnect.oidc.introspection import introspect, revoke
from konnect.oidc.logout_channels import (
    frontchannel_page,
    frontchannel_urls,
    notify_back_channel,
)
from konnect.oidc.provider import Provider
from konnect.oidc.registration import parse_body, read_registration, register
from konnect.oidc.responses import (
    NO_CACHE,
    NO_STORE,
    apply_cookies,
    bearer_error,
    error_json,
    form_params,
    form_post_page,
    json_response,
    query_params,
    read_body,
    registration_token_error,
    request_params,
)
from konnect.oidc.responses import (
    error_page as plain_error_page,
)
from konnect.oidc.signin_sessions import end_signin_session
from konnect.oidc.token_endpoint import TokenEndpoint
from konnect.oidc.userinfo import bearer_token, signed_response, userinfo_claims
from konnect.state import StateStoreUnavailable

# Discovery and JWKS are answered before the CORS layer (konnect/http/cors.py) runs.
_CORS = {"Access-Control-Allow-Origin": "*"}
MAX_REGISTRATION_BYTES = 64 * 1024

#: Renders an error that must not go back to the client as a page for the person.
ErrorPage = Callable[[Request, OAuthError], Response]


def documents(provider: Provider) -> dict[str, tuple[str, bytes, dict[str, str]]]:
    """The documents that never change while the server runs: path -> (type, body, headers)."""
    endpoints = provider.endpoints
    return {
        endpoints.discovery: (
            # Konnect's type, parameter included: its own tests asserted this exact string.
            "application/json; encoding=utf-8",
            discovery_bytes(provider),
            {**_CORS, "Cache-Control": "public, max-age=300"},
        ),
        # Not cacheable: after a key change every relying party must see the new set at once.
        endpoints.jwks: (
            "application/jwk-set+json",
            provider.keys.jwks_json,
            {**_CORS, **NO_CACHE},
        ),
        endpoints.health: ("text/plain", b"", {"Cache-Control": "no-store"}),
    }


class _Served:
    """A handler served as a plain ASGI app. Starlette wraps a handler function in a
    per-route exception layer that does what the app's exception middleware does one layer
    out; the most requested endpoints skip it (same answers, errors included)."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handler(Request(scope, receive, send))
        await response(scope, receive, send)


def provider_routes(provider: Provider, error_page: ErrorPage = plain_error_page) -> list[Route]:
    endpoints = provider.endpoints
    token_endpoint = TokenEndpoint(provider)

    async def health_handler(request: Request) -> Response:
        return Response(b"", 200)

    async def authorize_handler(request: Request) -> Response:
        try:
            params = await request_params(request)
        except OAuthError as error:
            return error_page(request, error)
        outcome = await authorize(provider, params, request.cookies, request.headers)
        if outcome.error is not None:
            provider.log.info("authorize refused: %s", outcome.error)
            return error_page(request, outcome.error)
        response: Response
        if outcome.form_post is not None:
            response = form_post_page(outcome.location, outcome.form_post)
        else:
            response = RedirectResponse(outcome.location, 302, headers={**NO_CACHE, **NO_STORE})
        apply_cookies(response, outcome.cookies, provider.cookies.policy)
        return response

    async def endsession_handler(request: Request) -> Response:
        try:
            ended = end_session(provider, await request_params(request), request.cookies)
        except OAuthError as error:
            provider.log.info("end session refused: %s", error)
            return error_page(request, error)
        outcome = ended.outcome
        if ended.signed_out:
            await end_signin_session(provider, request.cookies)
        frames = []
        if ended.ended is not None:
            notify_back_channel(provider, ended.ended)
            frames = frontchannel_urls(provider, ended.ended)
        response: Response
        if frames:
            response = frames_response(frames, outcome.location)
        else:
            response = RedirectResponse(outcome.location, 302, headers={**NO_CACHE, **NO_STORE})
        apply_cookies(response, outcome.cookies, provider.cookies.policy)
        return response

    async def logout_frames_handler(request: Request) -> Response:
        """After a sign-out in the web app: the front-channel iframes, then the signed-out
        page. A missing, forged or stale token just goes to the signed-out page."""
        try:
            token = query_params(request).get("t", "")
        except OAuthError:
            token = ""
        opened = provider.cookies.open_logout_frames(token, provider.now())
        if not opened:
            done = endpoints.signed_out_url
            return RedirectResponse(done, 302, headers={**NO_CACHE, **NO_STORE})
        return frames_response(*opened)

    def frames_response(urls: list[str], next_url: str) -> Response:
        nonce = secrets.token_urlsafe(16)
        page, csp = frontchannel_page(urls, next_url, nonce)
        headers = {**NO_CACHE, **NO_STORE, "Content-Security-Policy": csp}
        return Response(page, headers=headers, media_type="text/html")

    async def check_session_handler(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        page = check_session_page(provider.cookies.browser_state_name, nonce)
        headers = {
            **NO_CACHE,
            "Content-Security-Policy": f"default-src 'none'; script-src 'nonce-{nonce}'",
        }
        return Response(page, headers=headers, media_type="text/html")

    async def token_handler(request: Request) -> Response:
        try:
            form = await form_params(request)
            status, body, headers = await token_endpoint.handle(form, request.headers)
        except OAuthError as error:
            return error_json(error)
        return json_response(body, status, {**dict(headers), **NO_STORE})

    def client_token_handler(
        endpoint: str, action: Callable[[ClientRegistration, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Revocation and introspection: a form with `token`, from an authenticated client."""
        path = endpoints.revocation if endpoint == "revocation" else endpoints.introspection
        url = endpoints.url(path)

        async def handler(request: Request) -> Response:
            try:
                form = await form_params(request)
                token = form.get("token")
                if token is None:
                    raise OAuthError("invalid_request", "token is missing")
                client = await token_endpoint.authenticate(form, request.headers, endpoint, url)
                return await action(client, token)
            except OAuthError as error:
                return error_json(error)
            except StateStoreUnavailable:
                return error_json(OAuthError("temporarily_unavailable", "try again later"))

        return handler

    async def revocation(client: ClientRegistration, token: str) -> Response:
        await revoke(provider, client, token)
        return Response(b"", 200, headers=NO_STORE)

    async def introspection(client: ClientRegistration, token: str) -> Response:
        if client.is_public:
            raise OAuthError("invalid_client", "public clients cannot introspect")
        return json_response(await introspect(provider, client, token), 200, NO_STORE)

    async def userinfo_handler(request: Request) -> Response:
        try:
            form = None
            if request.method == "POST" and request.headers.get("content-type"):
                form = await form_params(request)
            token = bearer_token(request.headers.get("authorization"), form)
            claims, client_id = await userinfo_claims(provider, token)
            client = provider.clients.get(client_id)
            alg = client.userinfo_signed_response_alg if client else None
            signed = None  # most clients want plain JSON: no hop to the signing threads
            if alg:
                signed = await provider.signing(
                    lambda: signed_response(provider, claims, client_id), alg
                )
        except OAuthError as error:
            return bearer_error(error, NO_CACHE)
        if signed is not None:
            return Response(signed, headers=NO_CACHE, media_type="application/jwt")
        return json_response(claims, 200, NO_CACHE)

    async def registration_handler(request: Request) -> Response:
        """RFC 7591 §3: a JSON body of client metadata; 201 with the new client."""
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type.lower() != "application/json":
                raise OAuthError("invalid_request", "the request body must be application/json")
            metadata = parse_body(await read_body(request, MAX_REGISTRATION_BYTES))
            body = await register(provider, metadata)
        except OAuthError as error:
            provider.log.info("client registration refused: %s", error)
            return error_json(error)
        return json_response(body, 201, NO_STORE)

    async def client_configuration_handler(request: Request) -> Response:
        """RFC 7592: read with the registration access token; no update or delete."""
        if request.method != "GET":
            error = OAuthError("method_not_allowed", "a registration cannot be changed")
            return error_json(error, {"Allow": "GET"})
        try:
            token = bearer_token(request.headers.get("authorization"))
            body = read_registration(provider, request.path_params["client_id"], token)
        except OAuthError as error:
            return registration_token_error(error)
        return json_response(body, 200, NO_STORE)

    registration_routes = [
        Route(endpoints.registration, registration_handler, methods=["POST"]),
        Route(
            endpoints.registration + "/{client_id}",
            client_configuration_handler,
            methods=["GET", "PUT", "DELETE"],
        ),
    ]

    # Discovery, JWKS and GET health checks are prebuilt documents: see `documents()`.
    # The most requested come first: routing tries each route in turn until one matches.
    return [
        Route(endpoints.token, _Served(token_handler), methods=["POST"]),
        Route(endpoints.userinfo, _Served(userinfo_handler), methods=["GET", "POST"]),
        Route(endpoints.authorize, _Served(authorize_handler), methods=["GET", "POST"]),
        *(registration_routes if provider.clients.dynamic is not None else []),
        Route(endpoints.health, health_handler, methods=["GET", "HEAD", "POST"]),
        Route(endpoints.endsession, endsession_handler, methods=["GET", "POST"]),
        Route(endpoints.check_session, check_session_handler, methods=["GET", "HEAD"]),
        Route(endpoints.logout_frames, logout_frames_handler, methods=["GET"]),
        Route(
            endpoints.revocation,
            client_token_handler("revocation", revocation),
            methods=["POST"],
        ),
        Route(
            endpoints.introspection,
            client_token_handler("introspection", introspection),
            methods=["POST"],
        ),
    ]
