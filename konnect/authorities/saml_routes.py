"""The SAML routes at Konnect's paths: konnect's service provider metadata, the assertion
consumer service (POST binding) and single logout (redirect binding).

An answer no browser here waits for is shown as konnect's error page; an answer refused
after that goes back to the relying party as an OAuth error, as for OpenID Connect
authorities. Nothing an identity provider sends ends in a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from konnect.authorities.routes import AuthorityRoutes, ErrorPage
from konnect.authorities.saml_flow import AnswerUnexpected, SamlFlow
from konnect.authorities.saml_logout import LogoutRefused
from konnect.authorities.saml_upstream import sp_metadata
from konnect.authorities.upstream import UpstreamUnavailable
from konnect.identifier.api import new_logon
from konnect.oidc.errors import OAuthError
from konnect.oidc.responses import NO_CACHE, NO_STORE, apply_cookies, query_params, read_body
from konnect.oidc.signin_sessions import end_signin_session
from konnect.state import StateStoreUnavailable

#: A SAML Response with its signatures and attributes fits easily; more is refused unread.
MAX_ANSWER_BYTES = 256 * 1024
_HEADERS = {**NO_CACHE, **NO_STORE}
_UNEXPECTED = "this sign-in was not started in this browser"


class SamlRoutes:
    def __init__(self, flow: SamlFlow, authorities: AuthorityRoutes, error_page: ErrorPage) -> None:
        self.flow = flow
        self.authorities = authorities
        self.provider = flow.provider
        self.error_page = error_page

    async def metadata(self, request: Request) -> Response:
        """konnect's service provider metadata: the default (else first) SAML authority's,
        or the one `?authority=` names."""
        wanted = request.query_params.get("authority")
        upstreams = list(self.flow.upstreams.values())
        defaults = [item for item in upstreams if item.settings.default]
        upstream = self.flow.upstreams.get(wanted) if wanted else (defaults or upstreams)[0]
        if upstream is None:
            return self.error_page(request, OAuthError("invalid_request", "unknown authority"))
        document = await self.flow.workers.run(sp_metadata, upstream.sp)
        return Response(document, 200, media_type="application/samlmetadata+xml")

    async def acs(self, request: Request) -> Response:
        try:
            form = await _form(request)
            pending = self.flow.pending(form.get("RelayState", ""), request.cookies)
        except (OAuthError, AnswerUnexpected) as exc:
            self.provider.log.info("SAML answer refused: %s", exc)
            return self.error_page(request, OAuthError("invalid_request", _UNEXPECTED))
        cookies = self.provider.cookies
        try:
            signed_in = await self.flow.finish(pending, form.get("SAMLResponse", ""))
            logon = await new_logon(
                self.provider, signed_in.user, amr=(), not_after=signed_in.not_after
            )
        except StateStoreUnavailable as exc:
            self.provider.log.error("SAML sign-in refused, state store unavailable: %s", exc)
            error = OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable")
            response = await self.authorities.refused(request, pending.request, error)
        except OAuthError as error:
            response = await self.authorities.refused(request, pending.request, error)
        else:
            location = self.authorities.onwards(pending.request)
            # 303: the browser goes on with a GET, not a second POST of the answer.
            response = RedirectResponse(location, 303, headers=_HEADERS)
            new = [cookies.logon(logon), cookies.delete_browser_state(), *signed_in.cookies]
            apply_cookies(response, new, cookies.policy)
        apply_cookies(response, [self.flow.forget(pending.state)], cookies.policy)
        return response

    async def slo(self, request: Request) -> Response:
        """The identity provider's LogoutResponse to our sign-out, or its LogoutRequest."""
        try:
            params = query_params(request)
            if "SAMLResponse" in params:
                location, forget = await self.flow.logout_returned(params, request.cookies)
                response = RedirectResponse(location, 302, headers=_HEADERS)
                apply_cookies(response, [forget], self.provider.cookies.policy)
                return response
            if "SAMLRequest" in params:
                return await self._logout_requested(request, params)
        except (OAuthError, LogoutRefused, UpstreamUnavailable) as exc:
            self.provider.log.info("SAML single logout refused: %s", exc)
        error = OAuthError("invalid_request", "this sign-out was not started here")
        return self.error_page(request, error)

    async def _logout_requested(self, request: Request, params: dict[str, str]) -> Response:
        location, ends = await self.flow.logout_requested(params, request.cookies)
        response = RedirectResponse(location, 302, headers=_HEADERS)
        if ends:
            cookies = self.provider.cookies
            logon = cookies.read_logon(request.cookies, now=self.provider.now())
            await end_signin_session(self.provider, request.cookies)
            self.provider.events.sign_out(logon.username if logon else None)
            expired = [
                cookies.delete_logon(),
                cookies.delete_browser_state(),
                cookies.delete_session(),
                self.flow.forget_session(),
            ]
            apply_cookies(response, expired, cookies.policy)
        return response

    def routes(self) -> list[Route]:
        flow = self.flow
        return [
            Route(flow.metadata_path, self.metadata, methods=["GET", "HEAD"]),
            Route(flow.acs_path, self.acs, methods=["POST"]),
            Route(flow.slo_path, self.slo, methods=["GET"]),
        ]


async def _form(request: Request) -> dict[str, str]:
    """The POST binding's form: its SAMLResponse is larger than OAuth parameters may be."""
    body = await read_body(request, MAX_ANSWER_BYTES)
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form must be URL-encoded") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"{key[:40]} is repeated")
        form[key] = value
    return form
