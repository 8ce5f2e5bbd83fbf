"""The upstream sign-in routes: start, the upstream's callback, the back-channel logout of
trusted authorities, and (with a default authority) the sign-in page that goes straight to it.

After the callback the browser goes back to the authorization endpoint (the sign-in cookie
is not sent to the sign-in page, which would go to the default authority again).

Errors after the authorization request's client is verified go back to it as an OAuth error;
before that, and for an answer no browser here waits for, they are shown as a page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from konnect.authorities.flow import CallbackRefused, RoundTrip, UpstreamSignOut
from konnect.authorities.logout import LogoutRefused, UpstreamLogout
from konnect.authorities.upstream import Upstream, UpstreamUnavailable
from konnect.clients import ClientLookupError
from konnect.identifier.api import new_logon
from konnect.oidc.authorize.request import error_mode, with_redirect_uri
from konnect.oidc.authorize.respond import error_redirect
from konnect.oidc.errors import OAuthError
from konnect.oidc.responses import (
    NO_CACHE,
    NO_STORE,
    apply_cookies,
    form_params,
    form_post_page,
    json_response,
    query_params,
)
from konnect.state import StateStoreUnavailable

if TYPE_CHECKING:  # pysaml2 is imported only when a SAML authority is configured
    from konnect.authorities.saml_flow import SamlFlow
    from konnect.authorities.saml_upstream import SamlUpstream

ErrorPage = Callable[[Request, OAuthError], Response]
Page = Callable[[Request], Awaitable[Response]]
#: The sign-in page goes to the default authority for these flows (Konnect's rule).
SKIPPING_FLOWS = ("", "oidc", "oauth")
_HEADERS = {**NO_CACHE, **NO_STORE}


class AuthorityRoutes:
    def __init__(
        self,
        round_trip: RoundTrip,
        sign_out: UpstreamSignOut,
        logout: UpstreamLogout,
        error_page: ErrorPage,
        saml: SamlFlow | None = None,
    ) -> None:
        self.round_trip = round_trip
        self.sign_out = sign_out
        self.logout = logout
        self.provider = round_trip.provider
        self.error_page = error_page
        self.saml = saml
        self.upstreams: dict[str, Upstream | SamlUpstream] = {
            **round_trip.upstreams,
            **(saml.upstreams if saml else {}),
        }

    def chosen(self, params: Mapping[str, str]) -> Upstream | SamlUpstream | None:
        """The authority the request names, else the one for the domain it hints at, else
        the default one."""
        upstreams = self.upstreams
        if "authority" in params:
            return upstreams.get(params["authority"])
        domain = _hinted_domain(params)
        by_domain = [item for item in upstreams.values() if domain in item.settings.domains]
        defaults = [item for item in upstreams.values() if item.settings.default]
        return next(iter(by_domain + defaults), None)

    async def start(self, request: Request) -> Response:
        try:
            params = query_params(request)
        except OAuthError as error:
            return self.error_page(request, error)
        upstream = self.chosen(params)
        authorize_request = {key: value for key, value in params.items() if key != "authority"}
        if upstream is None:
            return self.error_page(request, OAuthError("invalid_request", "unknown authority"))
        try:
            if isinstance(upstream, Upstream):
                location, cookie = await self.round_trip.start(upstream, authorize_request)
            else:
                assert self.saml is not None  # a SAML upstream comes from the SAML flow
                location, cookie = await self.saml.start(upstream, authorize_request)
        except OAuthError as error:
            return await self.refused(request, authorize_request, error)
        response = RedirectResponse(location, 302, headers=_HEADERS)
        apply_cookies(response, [cookie], self.provider.cookies.policy)
        return response

    async def callback(self, request: Request) -> Response:
        try:
            answer = query_params(request)
            signed_out = self.sign_out.returned(answer, request.cookies)
            if signed_out is not None:
                return self._signed_out(signed_out, answer["state"])
            pending = self.round_trip.pending(answer, request.cookies)
        except (OAuthError, CallbackRefused) as exc:
            self.provider.log.info("upstream answer refused: %s", exc)
            error = OAuthError("invalid_request", "this sign-in was not started in this browser")
            return self.error_page(request, error)
        cookies = self.provider.cookies
        try:
            signed_in = await self.round_trip.finish(pending, answer)
            logon = await new_logon(self.provider, signed_in.user, amr=())
            await self.logout.remember(pending.authority, signed_in.claims, logon.session_id)
        except StateStoreUnavailable as exc:
            self.provider.log.error("upstream sign-in refused, state store unavailable: %s", exc)
            error = OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable")
            response = await self.refused(request, pending.request, error)
        except OAuthError as error:
            response = await self.refused(request, pending.request, error)
        else:
            response = RedirectResponse(self.onwards(pending.request), 302, headers=_HEADERS)
            session = self.sign_out.remembered(pending.authority, signed_in.id_token)
            apply_cookies(
                response,
                [cookies.logon(logon), cookies.delete_browser_state(), *session],
                cookies.policy,
            )
        apply_cookies(response, [self.round_trip.forget(pending.state)], cookies.policy)
        return response

    async def back_channel_logout(self, request: Request) -> Response:
        """A trusted authority's logout token (Back-Channel Logout §2.5, §2.8)."""
        try:
            token = (await form_params(request)).get("logout_token", "")
            await self.logout.log_out(token)
        except (StateStoreUnavailable, UpstreamUnavailable) as exc:
            self.provider.log.error("upstream logout failed: %s", exc)
            return json_response({"error": "temporarily_unavailable"}, 503, _HEADERS)
        except (OAuthError, LogoutRefused) as exc:
            self.provider.log.info("upstream logout refused: %s", exc)
            error = {"error": "invalid_request", "error_description": "logout token refused"}
            return json_response(error, 400, _HEADERS)
        return Response(status_code=200, headers=_HEADERS)

    def _signed_out(self, next_url: str, state: str) -> Response:
        """Back from the upstream's end session: on to where the sign-out here was going."""
        location = next_url or self.provider.endpoints.goodbye_page
        response = RedirectResponse(location, 302, headers=_HEADERS)
        apply_cookies(response, [self.round_trip.forget(state)], self.provider.cookies.policy)
        return response

    def onwards(self, request: Mapping[str, str]) -> str:
        """Where a browser goes once signed in: back to the authorization request, which
        asks for consent like after a password sign-in; without one, the welcome page."""
        endpoints = self.provider.endpoints
        if not request.get("client_id"):
            return endpoints.signin_prefix + "/welcome"
        return endpoints.authorize + "?" + urlencode(_signed_in(request))

    async def refused(
        self, request: Request, params: Mapping[str, str], error: OAuthError
    ) -> Response:
        """The error to the relying party when its registration is verified, else a page."""
        self.provider.log.info("upstream sign-in refused: %s (%s)", error, error.detail)
        try:
            params = await with_redirect_uri(self.provider, params)
            redirect_uri = params.get("redirect_uri", "")
            client = self.provider.clients.lookup(params.get("client_id", ""), redirect_uri)
        except (OAuthError, ClientLookupError):
            return self.error_page(request, error)
        if not redirect_uri or not client.verified:
            return self.error_page(request, error)
        outcome = error_redirect(self.provider, params, error_mode(params), error)
        if outcome.form_post is not None:
            return form_post_page(outcome.location, outcome.form_post)
        return RedirectResponse(outcome.location, 302, headers=_HEADERS)

    def signin_page(self, page: Page) -> Page:
        """The sign-in page, which sends the browser on to the default authority (Konnect's
        `default: yes`) or the one a hint picks."""

        async def handler(request: Request) -> Response:
            params = dict(request.query_params)
            if self._goes_upstream(request, params):
                location = self.round_trip.start_path + "?" + urlencode(params)
                return RedirectResponse(location, 302, headers=_HEADERS)
            return await page(request)

        return handler

    def _goes_upstream(self, request: Request, params: Mapping[str, str]) -> bool:
        """Konnect's rule. The sign-in cookie is not sent to this page, so a signed-in user
        goes too; the upstream, still signed in, sends them straight back."""
        return (
            request.method == "GET"
            and params.get("flow", "") in SKIPPING_FLOWS
            and not params.get("error")
            and self.chosen(params) is not None
        )

    def routes(self, page: Page) -> list[Route]:
        round_trip = self.round_trip
        routes = [
            Route(round_trip.start_path, self.start, methods=["GET"]),
            Route(round_trip.callback_path, self.callback, methods=["GET"]),
            Route(round_trip.logout_path, self.back_channel_logout, methods=["POST"]),
        ]
        if any(item.settings.default or item.settings.domains for item in self.upstreams.values()):
            signin = self.provider.endpoints.signin_page
            routes.append(Route(signin, self.signin_page(page), methods=["GET", "HEAD"]))
        return routes


def _hinted_domain(params: Mapping[str, str]) -> str:
    """The domain of `domain_hint`, else of an e-mail address as `login_hint` ("" if none)."""
    login_hint = params.get("login_hint", "")
    domain = params.get("domain_hint") or (
        login_hint.rpartition("@")[2] if "@" in login_hint else ""
    )
    return domain.lower()


def _signed_in(request: Mapping[str, str]) -> dict[str, str]:
    """The authorization request to continue with: the user has just signed in, so a
    prompt to sign in (again) or to pick an account is done."""
    params = {key: value for key, value in request.items() if key != "flow"}
    prompts = [p for p in params.pop("prompt", "").split() if p not in ("login", "select_account")]
    if prompts:
        params["prompt"] = " ".join(prompts)
    return params
