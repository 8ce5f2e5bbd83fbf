"""The identifier JSON API with Konnect's request and response shapes (hello, logon, ...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from konnect.clients import ClientLookupError, ClientRegistration
from konnect.crypto import random_string
from konnect.identifier.guard import same_origin_request
from konnect.identifier.throttle import SignInThrottle, ThrottleLimits, canonical_name
from konnect.identity import (
    UPSTREAM_PROVIDER,
    AccountCountedLogon,
    BackendUnavailable,
    User,
    UsernameLookup,
    provider_tag,
)
from konnect.observe import events
from konnect.observe.events import backend_label
from konnect.oidc.account_epoch import with_account_epoch
from konnect.oidc.acr import requested_level, second_factor_demanded
from konnect.oidc.authorize.request import parse_claims
from konnect.oidc.claims import display_name
from konnect.oidc.errors import OAuthError
from konnect.oidc.logout_channels import signed_out
from konnect.oidc.provider import Provider
from konnect.oidc.responses import NO_CACHE, apply_cookies, json_response, read_body
from konnect.oidc.session import Consent, CookieSpec, Logon
from konnect.oidc.signin_sessions import current_logon, end_signin_session
from konnect.state import StateStoreUnavailable
from konnect.strict_json import parse_json

if TYPE_CHECKING:
    from konnect.identifier.mfa_api import SecondStep
    from konnect.identifier.passkey_api import WebAuthnStep
    from konnect.identifier.security_api import SecurityPage

#: The largest JSON body a sign-in web app request may carry.
MAX_API_BODY = 16 * 1024
STATE_HEADER = "Kopano-Konnect-State"
#: RFC 8176 methods of a passkey sign-in: proof of possession of a key, the user's presence,
#: and (the user verified by the authenticator) multi-factor by itself.
PASSKEY_AMR = ("pop", "user", "mfa")
OIDC_FLOWS = ("oidc", "oauth", "consent")
MAX_USERNAME_LENGTH = 256
MAX_STATE_LENGTH = 512
#: Signs the browser out at the upstream provider it signed in with: given its cookies and
#: where it goes next (None: the signed-out screen), where it goes instead and cookies to set.
SignOut = Callable[[Mapping[str, str], str | None], Awaitable[tuple[str | None, list[CookieSpec]]]]
_HEADERS = {
    **NO_CACHE,
    "X-Frame-Options": "DENY",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


@dataclass(frozen=True)
class Hello:
    """A hello request: the pending authorization request the web app is working on."""

    state: str
    flow: str = ""
    scope: str = ""
    prompt: str = ""
    client_id: str = ""
    redirect_uri: str = ""
    id_token_hint: str = ""
    # The request's `claims` parameter: an essential acr in it may demand a second factor.
    claims: str = ""
    max_age: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> Hello:
        if not isinstance(raw, dict):
            raise OAuthError("invalid_request", "hello must be an object")
        values = {key: raw.get(key, "") for key in cls.__dataclass_fields__ if key != "max_age"}
        if not all(isinstance(value, str) for value in values.values()):
            raise OAuthError("invalid_request", "hello values must be strings")
        max_age_raw = raw.get("max_age", "")
        max_age = None
        if max_age_raw not in ("", None):
            if not isinstance(max_age_raw, str) or not max_age_raw.isdigit():
                raise OAuthError("invalid_request", "failed to parse request values")
            max_age = int(max_age_raw)
        return cls(max_age=max_age, **values)

    @property
    def prompts(self) -> set[str]:
        return set(self.prompt.split())


def _valid_state(state: str) -> bool:
    """The state travels back in a response header: printable ASCII only, and short."""
    return len(state) <= MAX_STATE_LENGTH and all(" " <= char <= "~" for char in state)


def _no_success(state: str) -> Response:
    return Response(status_code=204, headers={**_HEADERS, STATE_HEADER: state})


def _client_details(client: ClientRegistration, redirect_uri: str) -> dict[str, Any]:
    """The consent screen's view of a client: where the user will be sent (the host of the
    verified redirect URI), whether the operator registered it (`verified`; a client that
    registered itself may borrow any name), its pages and logo only as http(s) URLs."""
    details: dict[str, Any] = {
        "id": client.id,
        "display_name": client.display_name,
        "redirect_uri": redirect_uri,
        "redirect_host": _destination(redirect_uri),
        "trusted": client.trusted,
        "verified": client.verified,
    }
    for key in ("uri", "logo_uri", "policy_uri", "tos_uri"):
        value = getattr(client, key)
        if value.startswith(("https://", "http://")):
            details[key] = value
    return details


def _destination(redirect_uri: str) -> str:
    """The host a redirect URI leads to; a native app's own scheme is shown with it."""
    parts = urlsplit(redirect_uri)
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme in ("https", "http") or not parts.scheme:
        return host
    return f"{parts.scheme}://{host}" if host else f"{parts.scheme}:"


async def api_request_object(request: Request) -> dict[str, Any]:
    """The JSON object of a same-origin web app request, with a string `state` if any;
    OAuthError `invalid_request` for anything else."""
    if not same_origin_request(request.headers):
        raise OAuthError("invalid_request", "cross-site request refused")
    raw = await read_body(request, MAX_API_BODY)
    try:
        body = parse_json(raw)
    except ValueError:
        raise OAuthError("invalid_request", "failed to decode request JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("state", ""), str):
        raise OAuthError("invalid_request", "failed to decode request JSON")
    return body


async def new_logon(
    provider: Provider, user: User, amr: tuple[str, ...] = ("pwd",), not_after: int = 0
) -> Logon:
    """A new sign-in session for `user`, signed in now with the identity backend by the
    methods `amr` (or at an upstream authority, for a user only it knows: the sign-in then
    carries the whole user), ending at `not_after` at the latest when set. It records the
    account's epoch (see `account_epoch`)."""
    now = provider.now()
    logon = Logon(
        subject=user.subject,
        username=user.username,
        display_name=display_name(user),
        provider=provider_tag(user, provider.backend.name),
        logon_time=now,
        session_id=random_string(32),
        last_seen=now,
        user=user if user.authority else None,
        amr=amr,
        not_after=not_after,
    )
    return await with_account_epoch(provider, logon)


def _signed_in_user(provider: Provider, request: Request) -> str | None:
    """The user name of the browser's sign-in, for the audit log."""
    logon = provider.cookies.read_logon(request.cookies, now=provider.now())
    return logon.username if logon is not None else None


def _error(error: OAuthError) -> Response:
    return json_response(error.as_dict(), error.status, _HEADERS)


class IdentifierApi:
    def __init__(
        self, provider: Provider, limits: ThrottleLimits, upstream_sign_out: SignOut | None = None
    ) -> None:
        self.provider = provider
        self.throttle = SignInThrottle(provider.store, limits)
        self.upstream_sign_out = upstream_sign_out
        self.second_step = _second_step(provider)
        self.security_page = _security_page(self.second_step)

    async def _body(self, request: Request) -> dict[str, Any]:
        body = await api_request_object(request)
        if not _valid_state(body.get("state", "")):
            raise OAuthError("invalid_request", "state is malformed")
        return body

    # -- hello ----------------------------------------------------------------------------------
    def _hello_response(self, hello: Hello, logon: Logon) -> dict[str, Any]:
        provider = self.provider
        response: dict[str, Any] = {
            "state": hello.state,
            "flow": hello.flow,
            "success": True,
            "username": logon.username,
            "displayName": logon.display_name,
        }
        if hello.flow not in OIDC_FLOWS:
            return response
        client = self._client(hello.client_id, hello.redirect_uri)
        if "consent" in hello.prompts or not client.trusted:
            scopes = provider.scopes.filter_supported(hello.scope.split())
            response["next"] = "consent"
            response["scopes"] = dict.fromkeys(scopes, True)
            response["client"] = _client_details(client, hello.redirect_uri)
            response["meta"] = {"scopes": provider.scopes.meta(scopes)}
        endpoints = provider.endpoints
        response["continue_uri"] = endpoints.url(endpoints.authorize)
        return response

    def _client(self, client_id: str, redirect_uri: str) -> ClientRegistration:
        try:
            return self.provider.clients.lookup(client_id, redirect_uri or None)
        except ClientLookupError as exc:
            raise OAuthError("invalid_request", str(exc)) from None

    async def _current_logon(self, request: Request, hello: Hello) -> Logon | None:
        if "login" in hello.prompts:
            return None
        logon = await current_logon(self.provider, request.cookies, max_age=hello.max_age)
        if logon is None:
            return None
        if logon.provider == UPSTREAM_PROVIDER:
            return logon if self.provider.upstream_users.current(logon.user) else None
        return logon if logon.provider == self.provider.backend.name else None

    async def hello(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            hello = Hello.parse(body)
            if "none" in hello.prompts:
                raise OAuthError("invalid_request", "prompt none requested")
            logon = await self._current_logon(request, hello)
            vouched = None
            if logon is None and "login" not in hello.prompts:
                logon = vouched = await self._proxy_logon(request, None)
            if logon is None:
                return _no_success(hello.state)
            pending = await self._pending_second_step(logon, hello)
            if pending is not None:
                return pending
            response = json_response(self._hello_response(hello, logon), 200, _HEADERS)
        except OAuthError as error:
            return _error(error)
        cookies = self.provider.cookies
        if vouched is not None:
            apply_cookies(response, [cookies.logon(vouched)], cookies.policy)
        else:
            apply_cookies(response, cookies.kept_alive(logon, self.provider.now()), cookies.policy)
        return response

    # -- the second factor ----------------------------------------------------------------------
    async def _pending_second_step(
        self,
        logon: Logon,
        hello: Hello | None,
        logon_state: str | None = None,
        invitation: str = "",
    ) -> Response | None:
        """When `logon` still needs a second factor: the answer that asks for it, with the
        pending cookie instead of the logon cookie (for a logon request, `logon_state` is its
        state and the hello answer goes inside). None when the sign-in counts as it is."""
        if self.second_step is None:
            return None
        client_level = requested_level = ""
        if hello is not None and hello.flow in OIDC_FLOWS and hello.client_id:
            client_level = self._client(hello.client_id, hello.redirect_uri).mfa
            requested_level = self._requested_level(hello.claims)
        pending = await self.second_step.pending_for(
            logon, client_level, requested_level, invitation
        )
        if pending is None:
            return None
        asked = self.second_step.describe(pending, hello.state if hello else "")
        body = (
            asked
            if logon_state is None
            else {"success": True, "state": logon_state, "hello": asked}
        )
        response = json_response(body, 200, _HEADERS)
        cookies = self.provider.cookies
        apply_cookies(response, [self.second_step.pending_cookie(pending)], cookies.policy)
        return response

    def _requested_level(self, claims: str) -> str:
        """The second factor an essential acr of the request demands ("required" or ""), by
        the rule of the authorization endpoint (which also answers requests that cannot be met)."""
        try:
            claims_request = parse_claims(claims or None)
            required = requested_level(claims_request, self.provider.acr)
        except OAuthError:
            return ""
        return "required" if second_factor_demanded(required) else ""

    async def second_factor(self, request: Request) -> Response:
        """POST mfa (an answer) and mfa/enrol (setting up an authenticator app)."""
        if self.second_step is None:
            return _error(OAuthError("invalid_request", "multi-factor sign-in is off"))
        try:
            body = await self._body(request)
            hello = Hello.parse(body["hello"]) if body.get("hello") else None

            def hello_answer(logon: Logon) -> dict[str, Any] | None:
                return self._hello_response(hello, logon) if hello else None

            step = self.second_step
            path = request.url.path
            if path.endswith("/webauthn"):
                webauthn = self._webauthn()
                handle = (
                    webauthn.enrol_passkey
                    if path.endswith("/enrol/webauthn")
                    else webauthn.security_key
                )
            else:
                handle = step.enrol if path.endswith("/enrol") else step.answer
            return await handle(request, body, hello_answer)
        except OAuthError as error:
            return _error(error)

    def _webauthn(self) -> WebAuthnStep:
        from konnect.identifier.passkey_api import WebAuthnStep

        if not isinstance(self.second_step, WebAuthnStep):
            raise OAuthError("invalid_request", "WebAuthn is not offered")
        return self.second_step

    # -- the security page ---------------------------------------------------------------------
    async def security(self, request: Request) -> Response:
        """POST security[/rename|remove|totp|webauthn|recovery]: a signed-in user's own
        factors (see konnect.identifier.security_api); not signed in: 204."""
        page = self.security_page
        if page is None:
            return _error(OAuthError("invalid_request", "multi-factor sign-in is off"))
        action = request.url.path.rsplit("/", 1)[-1]
        try:
            body = await self._body(request)
            answer = await page.serve(request, "overview" if action == "security" else action, body)
        except OAuthError as error:
            return _error(error)
        return answer or _no_success(str(body.get("state", "")))

    # -- a passkey instead of the password -------------------------------------------------------
    async def passkey(self, request: Request) -> Response:
        """POST passkey {step: begin}: the options for any passkey of this site; {step:
        finish, credential, hello}: signed in as the passkey's user (a verified passkey is
        multi-factor by itself), with no password step."""
        try:
            webauthn = self._webauthn()
            body = await self._body(request)
            state = str(body.get("state", ""))
            if body.get("step") == "begin":
                return webauthn.passkey_options(state)
            hello = Hello.parse(body["hello"]) if body.get("hello") else None
            logon = await self._passkey_logon(request, body)
            if logon is None:
                response = json_response(
                    {"success": False, "state": state, "error": "wrong"}, 200, _HEADERS
                )
                apply_cookies(response, [webauthn.forget_challenge()], self.provider.cookies.policy)
                return response
            hello_response = self._hello_response(hello, logon) if hello else None
        except OAuthError as error:
            return _error(error)
        response = json_response(
            {"success": True, "state": state, "hello": hello_response}, 200, _HEADERS
        )
        cookies = self.provider.cookies
        signed_in = [cookies.logon(logon), cookies.delete_browser_state()]
        apply_cookies(response, [*signed_in, webauthn.forget_challenge()], cookies.policy)
        return response

    async def _passkey_logon(self, request: Request, body: dict[str, Any]) -> Logon | None:
        if body.get("step") != "finish":
            raise OAuthError("invalid_request", "step must be begin or finish")
        account = await self._webauthn().passkey_account(request, body)
        backend = self.provider.backend
        user = None
        if account is not None and account.backend == backend.name:
            try:
                async with self.provider.events.backend_call(
                    backend_label(backend), "lookup", BackendUnavailable
                ):
                    user = await backend.lookup(account.subject)
            except BackendUnavailable:
                raise OAuthError(
                    "temporarily_unavailable", "sign-in is temporarily unavailable"
                ) from None
        name = user.username if user is not None else ""
        outcome = events.SUCCESS if user is not None else events.WRONG_CREDENTIALS
        self.provider.events.sign_in(outcome, backend_label(backend), name, method="passkey")
        if user is None:
            return None
        logon = await new_logon(self.provider, user, amr=PASSKEY_AMR)
        return replace(logon, mfa_time=logon.logon_time)

    # -- single sign-on through a trusted reverse proxy ------------------------------------------
    def _forwarded_user(self, request: Request) -> str | None:
        """The name in X-Forwarded-User when a trusted proxy sent it and single sign-on by
        that header is switched on; None otherwise."""
        peer = request.client.host if request.client else ""
        if not self.provider.forwarded_user_sign_in or not self.provider.is_trusted_proxy(peer):
            return None
        return request.headers.get("x-forwarded-user") or None

    async def _proxy_logon(self, request: Request, username: str | None) -> Logon | None:
        """The user a trusted proxy vouches for (if it is `username`, when given)."""
        forwarded = self._forwarded_user(request)
        backend = self.provider.backend
        if forwarded is None or not isinstance(backend, UsernameLookup):
            return None
        if username is not None and forwarded != username:
            return None
        try:
            user = await backend.lookup_username(forwarded)
        except BackendUnavailable as exc:
            self.provider.log.debug("proxy sign-in unavailable: %s", exc)
            raise OAuthError(
                "temporarily_unavailable", "sign-in is temporarily unavailable"
            ) from None
        outcome = events.WRONG_CREDENTIALS if user is None else events.SUCCESS
        self.provider.events.sign_in(outcome, backend_label(backend), forwarded, method="proxy")
        if user is None:
            return None
        logon = await new_logon(self.provider, user, amr=())
        factors = self.provider.second_factors
        if factors is not None and "forwarded_user" in factors.policy.satisfied_by:
            # The operator vouches that the proxy asked for a second factor itself.
            return replace(logon, amr=("mfa",), mfa_time=logon.logon_time)
        return logon

    # -- logon ----------------------------------------------------------------------------------
    async def logon(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            state = str(body.get("state", ""))
            params = body.get("params")
            if not isinstance(params, list) or not params or len(params) > 3:
                raise OAuthError("invalid_request", "params required")
            if not all(isinstance(value, str) for value in params):
                raise OAuthError("invalid_request", "params must be strings")
            username, password, mode = ([*params, "", "", ""])[:3]
            hello = Hello.parse(body["hello"]) if body.get("hello") else None
            try:
                logon = await self._sign_in(request, hello, (username, password, mode))
            except StateStoreUnavailable as exc:
                self.provider.log.error("sign-in refused, state store unavailable: %s", exc)
                raise OAuthError(
                    "temporarily_unavailable", "sign-in is temporarily unavailable"
                ) from None
            if logon is None:
                return _no_success(state)
            invitation = body.get("mfa_invite")
            invitation = invitation if isinstance(invitation, str) else ""
            pending = await self._pending_second_step(logon, hello, state, invitation)
            hello_response = self._hello_response(hello, logon) if hello else None
        except OAuthError as error:
            return _error(error)
        cookies = self.provider.cookies
        if pending is not None:
            response, signed_in = pending, []
        else:
            response = json_response(
                {"success": True, "state": state, "hello": hello_response}, 200, _HEADERS
            )
            signed_in = [cookies.logon(logon), cookies.delete_browser_state()]
        if mode == "1":
            signed_in.append(self._remember_browser(request, username))
        apply_cookies(response, signed_in, cookies.policy)
        return response

    async def _sign_in(
        self, request: Request, hello: Hello | None, params: tuple[str, str, str]
    ) -> Logon | None:
        username, password, mode = params
        proxy_allowed = hello is None or "login" not in hello.prompts
        if proxy_allowed and self._forwarded_user(request) is not None:
            # The proxy has authenticated the person: that user only, and no password.
            return await self._proxy_logon(request, username)
        return await self._authenticate(request, username, password, mode)

    async def _authenticate(
        self, request: Request, username: str, password: str, mode: str
    ) -> Logon | None:
        if not username or len(username) > MAX_USERNAME_LENGTH:
            return None
        if mode == "0" and not password:
            current = await current_logon(self.provider, request.cookies)
            if current is not None and current.username == username:
                return current
            return None
        if mode != "1" or not password:
            return None
        user = await self._password_logon(request, username, password)
        return None if user is None else await new_logon(self.provider, user)

    async def _password_logon(self, request: Request, username: str, password: str) -> User | None:
        """Check the password, its attempt counted first (see `throttle`)."""
        browser_id, names = self.provider.cookies.read_known_browser(request.cookies)
        known = browser_id if canonical_name(username) in names else None
        attempt = self.throttle.attempt(username, known)
        backend = self.provider.backend
        outcome = events.ERROR
        try:
            await attempt.begin(self._client_address(request))
            timed = self.provider.events.backend_call
            async with timed(backend_label(backend), "logon", BackendUnavailable):
                if isinstance(backend, AccountCountedLogon):
                    user = await backend.logon_counted(username, password, attempt.count_account)
                else:
                    user = await backend.logon(username, password)
            outcome = events.WRONG_CREDENTIALS if user is None else events.SUCCESS
        except OAuthError:
            outcome = events.THROTTLED
            raise
        except BackendUnavailable as exc:
            outcome = events.BACKEND_UNAVAILABLE
            # The backend logs an outage once; every refused sign-in only at debug level.
            self.provider.log.debug("sign-in unavailable: %s", exc)
            raise OAuthError(
                "temporarily_unavailable", "sign-in is temporarily unavailable"
            ) from None
        finally:
            self.provider.events.sign_in(outcome, backend_label(backend), username)
        if user is not None:
            await attempt.succeeded()
        return user

    def _client_address(self, request: Request) -> str:
        """The TCP peer, or the address a trusted proxy says it forwards for."""
        peer = request.client.host if request.client else ""
        if self.provider.is_trusted_proxy(peer):
            forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
            return forwarded or peer
        return peer

    def _remember_browser(self, request: Request, username: str) -> CookieSpec:
        """The known-browser cookie, now also naming `username`."""
        cookies = self.provider.cookies
        browser_id, names = cookies.read_known_browser(request.cookies)
        name = canonical_name(username)
        kept = tuple(item for item in names if item != name)
        return cookies.known_browser(browser_id or random_string(32), (*kept, name))

    # -- logoff ---------------------------------------------------------------------------------
    async def logoff(self, request: Request) -> Response:
        try:
            body = await self._body(request)
        except OAuthError as error:
            return _error(error)
        cookies = self.provider.cookies
        await end_signin_session(self.provider, request.cookies)
        self.provider.events.sign_out(_signed_in_user(self.provider, request))
        answer: dict[str, Any] = {"success": True, "state": str(body.get("state", ""))}
        # Front- and back-channel logout, and the way back to a relying party that asked
        # for the sign-out (RP-initiated logout); the web app continues at continue_uri.
        logout = body.get("logout")
        back = (
            cookies.open_logout_return(logout, self.provider.now())
            if isinstance(logout, str)
            else None
        )
        continue_uri = signed_out(self.provider, request.cookies, back)
        upstream: list[CookieSpec] = []
        if self.upstream_sign_out is not None:
            continue_uri, upstream = await self.upstream_sign_out(request.cookies, continue_uri)
        if continue_uri:
            answer["continue_uri"] = continue_uri
        response = json_response(answer, 200, _HEADERS)
        expired: list[CookieSpec] = [
            cookies.delete_logon(),
            cookies.delete_browser_state(),
            cookies.delete_session(),
            *upstream,
        ]
        apply_cookies(response, expired, cookies.policy)
        return response

    # -- consent --------------------------------------------------------------------------------
    async def consent(self, request: Request) -> Response:
        provider = self.provider
        try:
            body = await self._body(request)
            fields = ("state", "scope", "client_id", "redirect_uri", "ref", "flow_nonce")
            values = {key: body.get(key, "") for key in fields}
            allow = body.get("allow", False)
            if not all(isinstance(value, str) for value in values.values()) or not isinstance(
                allow, bool
            ):
                raise OAuthError("invalid_request", "failed to decode request JSON")
            if await current_logon(provider, request.cookies) is None:
                raise OAuthError("invalid_request", "sign in before giving consent")
            self._client(values["client_id"], values["redirect_uri"])
        except OAuthError as error:
            return _error(error)
        name = provider.cookies.consent_name(
            values["state"],
            values["client_id"],
            values["redirect_uri"],
            values["ref"],
            values["flow_nonce"],
        )
        decision = Consent(allow, tuple(values["scope"].split()))
        user = _signed_in_user(provider, request)
        provider.events.consent(allow, values["client_id"], decision.scopes, user)
        cookie = provider.cookies.consent(name, decision, provider.now())
        response: Response
        if allow:
            response = json_response({"success": True, "state": values["state"]}, 200, _HEADERS)
        else:
            response = _no_success(values["state"])
        apply_cookies(response, [cookie], provider.cookies.policy)
        return response


def identifier_routes(
    provider: Provider,
    limits: ThrottleLimits | None = None,
    upstream_sign_out: SignOut | None = None,
) -> list[Route]:
    api = IdentifierApi(provider, limits or ThrottleLimits(), upstream_sign_out)
    base = provider.endpoints.identifier_api
    routes = [
        Route(base + "hello", api.hello, methods=["POST"]),
        Route(base + "logon", api.logon, methods=["POST"]),
        Route(base + "logoff", api.logoff, methods=["POST"]),
        Route(base + "consent", api.consent, methods=["POST"]),
    ]
    if api.second_step is not None:
        routes.append(Route(base + "mfa", api.second_factor, methods=["POST"]))
        routes.append(Route(base + "mfa/enrol", api.second_factor, methods=["POST"]))
    if provider.second_factors is not None and provider.second_factors.passkeys is not None:
        routes.append(Route(base + "mfa/webauthn", api.second_factor, methods=["POST"]))
        routes.append(Route(base + "mfa/enrol/webauthn", api.second_factor, methods=["POST"]))
        routes.append(Route(base + "passkey", api.passkey, methods=["POST"]))
    if api.security_page is not None:
        routes.append(Route(base + "security", api.security, methods=["POST"]))
        for action in ("rename", "remove", "totp", "webauthn", "recovery"):
            routes.append(Route(base + "security/" + action, api.security, methods=["POST"]))
    return routes


def _second_step(provider: Provider) -> SecondStep | None:
    """The second-step endpoints when MFA is on (only then are they imported)."""
    if provider.second_factors is None:
        return None
    factors = provider.second_factors
    if factors.passkeys is not None:
        from konnect.identifier.passkey_api import WebAuthnStep

        return WebAuthnStep(provider, factors, factors.passkeys, _HEADERS)
    from konnect.identifier.mfa_api import SecondStep

    return SecondStep(provider, factors, _HEADERS)


def _security_page(step: SecondStep | None) -> SecurityPage | None:
    """The security page's endpoints when MFA is on (only then are they imported)."""
    if step is None:
        return None
    from konnect.identifier.security_api import SecurityPage

    return SecurityPage(step, _HEADERS)
