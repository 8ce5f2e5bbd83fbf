"""The authorization endpoint's rules, as a sequence of small named checks.

Order matters for safety (RFC 6749 §4.1.2.1): the client and its redirect_uri are verified
first, and until then every error is shown as a page, never redirected. After that, errors go
back to the client in its response mode, if the operator registered the client or the user
approved it in this flow; an error for a client that registered itself is otherwise shown
as a page too, so that nobody can use konnect to send people to a site of their choosing
(RFC 9700 §4.11.2). The handler in `endpoints.py` only translates the `Outcome` into HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from konnect.clients import ClientLookupError, ClientRegistration
from konnect.crypto import browser_state, public_subject, random_string, session_state
from konnect.identity import BackendUnavailable, BrowserSignIn, User
from konnect.keys import InvalidToken
from konnect.oidc.claims import claims_scopes, requested_subjects, subject_for, wants_auth_time
from konnect.oidc.errors import OAuthError
from konnect.oidc.grants import Grant
from konnect.oidc.guest import GUEST_PROVIDER, admit
from konnect.oidc.logout_channels import remember_client
from konnect.oidc.pkce import requested_challenge
from konnect.oidc.provider import Provider
from konnect.oidc.request_object import fetched_request, merge, verified_claims
from konnect.oidc.scopes import OFFLINE_ACCESS, OPENID
from konnect.oidc.session import CookieSpec, Logon, OidcSession
from konnect.oidc.signin_sessions import current_logon

RESPONSE_TYPES = (
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
)
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})


@dataclass
class Outcome:
    """What to answer: a redirect (to the client or the sign-in page) or an error page."""

    location: str = ""
    error: OAuthError | None = None
    cookies: list[CookieSpec] = field(default_factory=list)
    form_post: dict[str, str] | None = None  # response_mode=form_post: POST these to location


@dataclass(frozen=True)
class AuthorizeRequest:
    client: ClientRegistration
    redirect_uri: str
    response_type: str
    response_mode: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    prompt: frozenset[str]
    max_age: int | None
    code_challenge: str
    hint_subject: str | None
    claims: dict[str, Any] | None
    consent_ref: str
    params: Mapping[str, str]  # as the browser sent them (a request object stays one)
    signed_request: bool = False
    request_object: Mapping[str, Any] | None = None  # a signed object's verified claims

    @property
    def returns_code(self) -> bool:
        return "code" in self.response_type.split()


# -- step 1: the client and where errors may go -----------------------------------------------


def verify_client(provider: Provider, params: Mapping[str, str]) -> ClientRegistration:
    """RFC 6749 §4.1.2.1: unknown client or redirect_uri -> an error page, never a redirect."""
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if not client_id:
        raise OAuthError("invalid_request", "client_id is missing")
    if not redirect_uri:
        raise OAuthError("invalid_request", "redirect_uri is missing")
    parts = urlsplit(redirect_uri)
    if not parts.scheme or not parts.netloc or parts.fragment:
        raise OAuthError("invalid_request", "redirect_uri is not a valid absolute URI")
    try:
        return provider.clients.lookup(client_id, redirect_uri)
    except ClientLookupError as exc:
        raise OAuthError("invalid_request", str(exc)) from None


async def with_redirect_uri(provider: Provider, params: Mapping[str, str]) -> Mapping[str, str]:
    """The parameters with the redirect_uri that a request object alone carries (Core §6.1).

    The object is verified with the client's keys before its redirect_uri is trusted; until
    the redirect_uri is verified, any error is shown as a page.
    """
    client = provider.clients.get(params.get("client_id", ""))
    by_object = "request" in params or "request_uri" in params
    if params.get("redirect_uri") or not by_object or client is None:
        return params
    params = await fetched_request(provider, params)
    claims, _signed = await verified_claims(provider, params["request"], client)
    redirect_uri = claims.get("redirect_uri")
    if not isinstance(redirect_uri, str):
        return params
    return {**params, "redirect_uri": redirect_uri}


def default_response_mode(response_type: str) -> str:
    """Tokens travel in the fragment; codes and errors of token-less requests in the query."""
    return "fragment" if {"token", "id_token"} & set(response_type.split()) else "query"


# -- step 2: the request itself -----------------------------------------------------------------


async def parse_request(
    provider: Provider,
    original: Mapping[str, str],
    client: ClientRegistration,
    received: Mapping[str, str],
) -> AuthorizeRequest:
    """The request from `original` (the received parameters, with a redirect_uri taken from a
    request object); `received` is kept for the sign-in web app, which sees only those."""
    params, signed, request_object = await fetched_request(provider, original), False, None
    if "request" in params:
        claims, signed = await verified_claims(provider, params["request"], client)
        params = merge(params, claims)
        request_object = claims if signed else None
    if "registration" in params:
        raise OAuthError("registration_not_supported", "registration is not supported")
    response_type = _response_type(params)
    if not _response_type_registered(client, response_type):
        raise OAuthError("unauthorized_client", "the client did not register this response_type")
    claims_request = _claims(params)
    scopes = _with_claims_scopes(_scopes(params), claims_request)
    prompt = _prompt(params)
    nonce = params.get("nonce", "")
    if "id_token" in response_type.split() and not nonce:
        raise OAuthError("invalid_request", "nonce is required when an ID token is returned")
    return AuthorizeRequest(
        client=client,
        redirect_uri=params["redirect_uri"],
        response_type=response_type,
        response_mode=_response_mode(params, response_type),
        scopes=scopes,
        state=params.get("state", ""),
        nonce=nonce,
        prompt=prompt,
        max_age=_max_age(params),
        code_challenge=requested_challenge(params, client, response_type),
        hint_subject=_hint_subject(provider, params),
        claims=claims_request,
        consent_ref=params.get("konnect", ""),
        params=received,
        signed_request=signed,
        request_object=request_object,
    )


def _response_type(params: Mapping[str, str]) -> str:
    raw = params.get("response_type", "")
    normalized = " ".join(sorted(raw.split()))
    if not raw:
        raise OAuthError("invalid_request", "response_type is missing")
    if normalized not in RESPONSE_TYPES:
        raise OAuthError("unsupported_response_type", "response_type is not supported")
    return normalized


def _response_type_registered(client: ClientRegistration, response_type: str) -> bool:
    """Dynamic clients, and registry clients that list `response_types`, get only those: a
    client that never takes tokens from the front channel cannot be made to (RFC 9700 §2.1.2)."""
    if not client.dynamic and not client.response_types:
        return True
    registered = {" ".join(sorted(value.split())) for value in client.response_types}
    return response_type in registered


def _error_mode(params: Mapping[str, str]) -> str:
    """How to deliver an error found before the request is fully parsed."""
    try:
        return _response_mode(params, " ".join(sorted(params.get("response_type", "").split())))
    except OAuthError:
        return default_response_mode(params.get("response_type", ""))


def _response_mode(params: Mapping[str, str], response_type: str) -> str:
    mode = params.get("response_mode", "")
    if not mode:
        return default_response_mode(response_type)
    if mode not in RESPONSE_MODES:
        raise OAuthError("invalid_request", "response_mode is not supported")
    if mode == "query" and response_type != "code":
        # OAuth 2.0 Multiple Response Types §2.1: tokens never travel in a query.
        raise OAuthError("invalid_request", "response_mode query is not allowed with tokens")
    return mode


def _scopes(params: Mapping[str, str]) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
    if OPENID not in scopes:
        raise OAuthError("invalid_scope", "the openid scope is required")
    return scopes


def _with_claims_scopes(scopes: tuple[str, ...], claims: dict[str, Any] | None) -> tuple[str, ...]:
    """A claim asked for by name requests its scope: consent shows it like any other."""
    return tuple(dict.fromkeys((*scopes, *claims_scopes(claims))))


def _prompt(params: Mapping[str, str]) -> frozenset[str]:
    prompt = frozenset(params.get("prompt", "").split())
    unknown = prompt - PROMPTS
    if unknown:
        raise OAuthError("invalid_request", "prompt has an unknown value")
    if "none" in prompt and len(prompt) > 1:
        raise OAuthError("invalid_request", "prompt none cannot be combined with other values")
    return prompt


def _max_age(params: Mapping[str, str]) -> int | None:
    raw = params.get("max_age")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise OAuthError("invalid_request", "max_age must be a non-negative integer")
    return int(raw)


def verified_hint(provider: Provider, hint: str) -> dict[str, Any]:
    """An ID token we issued, as a hint: signature and issuer checked, expiry ignored."""
    try:
        claims = provider.keys.verify(hint, check_exp=False, now=provider.now())
    except InvalidToken as exc:
        raise OAuthError("invalid_request", "id_token_hint is invalid", detail=str(exc)) from None
    if claims.get("iss") != provider.issuer or not isinstance(claims.get("sub"), str):
        raise OAuthError("invalid_request", "id_token_hint was not issued by this provider")
    if not _is_id_token(claims):
        raise OAuthError("invalid_request", "id_token_hint must be an ID token")
    return claims


def _is_id_token(claims: Mapping[str, Any]) -> bool:
    """Our other JWTs (access tokens, logout tokens, signed userinfo) are never hints."""
    other_kinds = ("kc.isAccessToken", "kc.identity", "events")
    return (
        not any(name in claims for name in other_kinds)
        and isinstance(claims.get("exp"), int)
        and isinstance(claims.get("iat"), int)
        and isinstance(claims.get("aud"), str | list)
    )


def _hint_subject(provider: Provider, params: Mapping[str, str]) -> str | None:
    hint = params.get("id_token_hint")
    return None if hint is None else str(verified_hint(provider, hint)["sub"])


def _claims(params: Mapping[str, str]) -> dict[str, Any] | None:
    raw = params.get("claims")
    if raw is None:
        return None
    try:
        claims = json.loads(raw)
    except (ValueError, RecursionError):
        raise OAuthError("invalid_request", "claims is not valid JSON") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_request", "claims must be a JSON object")
    return claims


# -- step 3: who is signed in, and what did they approve ------------------------------------------


@dataclass(frozen=True)
class Authenticated:
    user: User
    logon: Logon
    scopes: tuple[str, ...] | None = None  # set when decided at sign-in (guests)


async def authenticate(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> Authenticated | None:
    """The signed-in user, re-read from the backend; None when a sign-in is needed."""
    if provider.browser_sign_in is not None:
        return await _browser_user(
            provider, provider.browser_sign_in, request, cookies, headers or {}
        )
    logon = await current_logon(provider, cookies, max_age=request.max_age)
    if logon is None or logon.provider != provider.backend.name:
        return None
    try:
        user = await provider.backend.lookup(logon.subject)
    except BackendUnavailable:
        raise OAuthError(
            "temporarily_unavailable", "the user directory is unavailable, try again later"
        ) from None
    if user is None:
        return None
    if request.hint_subject is not None and request.hint_subject not in (
        user.subject,
        public_subject(user.subject, provider.backend.name),
    ):
        raise OAuthError("login_required", "id_token_hint does not match the signed-in user")
    return Authenticated(user, logon)


async def _browser_user(
    provider: Provider,
    backend: BrowserSignIn,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
    headers: Mapping[str, str],
) -> Authenticated | None:
    """The cookie backend: the browser's cookies, asked about at the backend on every request."""
    try:
        user = await backend.from_cookies(cookies, headers)
    except BackendUnavailable as exc:
        provider.log.error("cookie backend failed: %s", exc)
        raise OAuthError("server_error", "the sign-in backend failed") from None
    if user is None:
        return None
    if request.hint_subject is not None and request.hint_subject not in (
        user.subject,
        public_subject(user.subject, provider.backend.name),
    ):
        raise OAuthError("login_required", "id_token_hint does not match the signed-in user")
    logon = Logon(user.subject, user.username, user.name, provider.backend.name, provider.now())
    return Authenticated(user, logon, scopes=_browser_scopes(provider, request))


def _browser_scopes(provider: Provider, request: AuthorizeRequest) -> tuple[str, ...]:
    """Cookie users cannot consent: the supported scopes, never offline_access."""
    if "consent" in request.prompt:
        raise OAuthError("interaction_required", "consent is not available with this backend")
    supported = provider.scopes.filter_supported(request.scopes)
    return tuple(scope for scope in supported if scope != OFFLINE_ACCESS)


def continue_redirect(provider: Provider, request: AuthorizeRequest) -> Outcome:
    """The cookie backend's sign-in page, told where to continue (Konnect's `continue` and
    `oauth=1`); the continued request no longer forces a new sign-in."""
    query = {key: value for key, value in request.params.items() if key != "prompt"}
    authorize_url = provider.endpoints.url(provider.endpoints.authorize) + "?" + urlencode(query)
    location = provider.endpoints.signin_url
    separator = "&" if "?" in location else "?"
    return Outcome(
        location=location + separator + urlencode({"continue": authorize_url, "oauth": "1"})
    )


def signin_redirect(provider: Provider, request: AuthorizeRequest, flow: str) -> Outcome:
    """Send the browser to the sign-in web app with the original request and the flow.

    A redirect_uri that only a request object carries is added (it is verified), so that
    the consent screen can show where the user will be sent."""
    query = {
        key: value
        for key, value in request.params.items()
        if key not in ("konnect", "claims_scope")
    }
    query.setdefault("redirect_uri", request.redirect_uri)
    query["flow"] = flow
    # Scopes the web app cannot read from the request (from `claims` or a request object),
    # so that its consent screen shows them.
    shown = set(request.params.get("scope", "").split())
    unshown = [scope for scope in request.scopes if scope not in shown]
    if unshown:
        query["claims_scope"] = " ".join(unshown)
    location = provider.endpoints.signin_url
    separator = "&" if "?" in location else "?"
    return Outcome(location=location + separator + urlencode(sorted(query.items())))


def approved_scopes(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
) -> tuple[tuple[str, ...] | None, list[CookieSpec]]:
    """Scopes the user approved: all supported ones for trusted clients, else from consent.

    Returns (None, []) when consent is still needed.
    """
    supported = provider.scopes.filter_supported(request.scopes)
    needs_consent = not request.client.trusted or "consent" in request.prompt
    if not needs_consent:
        scopes = supported
        if not request.returns_code:
            scopes = [scope for scope in scopes if scope != OFFLINE_ACCESS]
        return tuple(scopes), []
    if not request.consent_ref:
        return None, []
    name = _consent_name(provider, request.client, request.params)
    consent = provider.cookies.read_consent(cookies, name, provider.now())
    if consent is None:
        return None, []
    spent = [provider.cookies.delete_consent(name)]
    if not consent.allow:
        raise OAuthError("access_denied", "the user denied the request")
    scopes = [scope for scope in supported if scope in consent.scopes or scope == OPENID]
    if not request.returns_code:
        scopes = [scope for scope in scopes if scope != OFFLINE_ACCESS]
    return tuple(scopes), spent


# -- step 4: the response -------------------------------------------------------------------------


def redirect_with(uri: str, params: Mapping[str, str], mode: str) -> str:
    """Add parameters to the redirect URI's query (keeping its own) or as its fragment."""
    parts = urlsplit(uri)
    if mode == "fragment":
        return urlunsplit(parts._replace(fragment=urlencode(list(params.items()))))
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in query if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def respond(uri: str, params: dict[str, str], mode: str) -> Outcome:
    """The authorization response in its response mode (query, fragment or form_post).

    A query response ends in an empty fragment of its own: a redirect without one inherits
    the fragment of the request (RFC 9110 §10.2.2), which may hold an earlier response's
    tokens when someone chained two authorization requests."""
    if mode == "form_post":
        return Outcome(location=uri, form_post=params)
    location = redirect_with(uri, params, mode)
    return Outcome(location=location if mode == "fragment" else location + "#")


def _consent_name(provider: Provider, client: ClientRegistration, shown: Mapping[str, str]) -> str:
    """The consent cookie's name, bound to the request as the web app saw it (`shown`):
    values inside a request object are not shown."""
    return provider.cookies.consent_name(
        shown.get("konnect", ""),
        client.id,
        shown.get("redirect_uri", ""),
        shown.get("state", ""),
        shown.get("nonce", ""),
    )


def user_approved(
    provider: Provider,
    client: ClientRegistration,
    shown: Mapping[str, str],
    cookies: Mapping[str, str],
) -> bool:
    """Whether the user allowed this client on the consent screen in this flow."""
    if not shown.get("konnect"):
        return False
    name = _consent_name(provider, client, shown)
    consent = provider.cookies.read_consent(cookies, name, provider.now())
    return consent is not None and consent.allow


def may_redirect_error(
    provider: Provider,
    client: ClientRegistration,
    shown: Mapping[str, str],
    cookies: Mapping[str, str],
) -> bool:
    """Errors go back to clients the operator registered, and to others the user approved."""
    return client.verified or user_approved(provider, client, shown, cookies)


def error_redirect(
    provider: Provider, request_params: Mapping[str, str], mode: str, error: OAuthError
) -> Outcome:
    params = error.as_dict()
    if request_params.get("state"):
        params["state"] = request_params["state"]
    params["iss"] = provider.issuer
    return respond(request_params["redirect_uri"], params, mode)


def _session_cookies(
    provider: Provider,
    cookies: Mapping[str, str],
    public_sub: str,
    provider_name: str,
    client: ClientRegistration,
) -> tuple[OidcSession, list[CookieSpec]]:
    """The browser's OIDC session (the same while the same user stays signed in)."""
    record = provider.cookies.read_session(cookies)
    clients: tuple[str, ...] = ()
    if (
        record
        and record.get("sub") == public_sub
        and isinstance(record.get("id"), str)
        and isinstance(record.get("bs"), str)
    ):
        session = OidcSession(record["id"], record["bs"])
        clients = provider.cookies.session_clients(record)
    else:
        session = OidcSession(random_string(32), random_string(32))
    clients = remember_client(clients, client)
    state_value = browser_state(public_sub, provider.issuer, session.browser_salt)
    return session, [
        provider.cookies.session(session, public_sub, provider_name, clients),
        provider.cookies.browser_state(state_value),
    ]


def success(
    provider: Provider,
    request: AuthorizeRequest,
    authenticated: Authenticated,
    scopes: tuple[str, ...],
    cookies: Mapping[str, str],
) -> Outcome:
    user = authenticated.user
    provider_name = authenticated.logon.provider
    public_sub = public_subject(user.subject, provider_name)
    session, session_cookies = _session_cookies(
        provider, cookies, public_sub, provider_name, request.client
    )
    grant = Grant(
        grant_id=random_string(16),
        client_id=request.client.id,
        user=user,
        provider=provider_name,
        scopes=scopes,
        auth_time=authenticated.logon.logon_time,
        sid=session.sid,
        nonce=request.nonce,
        claims=_authorized_claims(request),
        include_auth_time=request.max_age is not None or wants_auth_time(request.claims),
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        response_type=request.response_type,
    )
    response = _response_params(provider, request, grant)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(request.redirect_uri))
    response["session_state"] = session_state(
        request.client.id,
        origin,
        browser_state(public_sub, provider.issuer, session.browser_salt),
        random_string(32),
    )
    outcome = respond(request.redirect_uri, response, request.response_mode)
    outcome.cookies.extend(session_cookies)
    return outcome


def _authorized_claims(request: AuthorizeRequest) -> dict[str, Any] | None:
    """The claims request access tokens carry (`kc.authorizedClaims`, read by kwmserver for
    `passthru`): only what the client signed in a verified request object."""
    signed = request.request_object.get("claims") if request.request_object else None
    return signed if isinstance(signed, dict) else None


def _response_params(provider: Provider, request: AuthorizeRequest, grant: Grant) -> dict[str, str]:
    params: dict[str, str] = {}
    tokens = provider.tokens
    parts = request.response_type.split()
    code = tokens.code(grant) if "code" in parts else None
    access_token = tokens.access_token(grant) if "token" in parts else None
    if code:
        params["code"] = code
    if access_token:
        params["access_token"] = access_token
        params["token_type"] = "Bearer"
        params["expires_in"] = str(tokens.access_lifetime(grant))
    if "id_token" in parts:
        params["id_token"] = tokens.id_token(grant, access_token=access_token, code=code)
    if request.state:
        params["state"] = request.state
    params["scope"] = " ".join(grant.scopes)
    params["iss"] = provider.issuer
    return params


# -- the whole endpoint ---------------------------------------------------------------------------


async def authorize(
    provider: Provider,
    params: Mapping[str, str],
    cookies: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> Outcome:
    received = params
    try:
        params = await with_redirect_uri(provider, received)
        client = verify_client(provider, params)
    except OAuthError as error:
        return Outcome(error=error)
    mode = _error_mode(params)
    try:
        request = await parse_request(provider, params, client, received)
        mode = request.response_mode
        return await _decide(provider, request, cookies, headers or {})
    except OAuthError as error:
        if error.error == "invalid_request_object":
            provider.log.warning("request object of client %s refused: %s", client.id, error)
        if not may_redirect_error(provider, client, received, cookies):
            return Outcome(error=error)
        return error_redirect(provider, params, mode, error)


async def _guest(provider: Provider, request: AuthorizeRequest) -> Authenticated | None:
    """A guest named by the client's signed request object (a signed-in user wins)."""
    if request.request_object is None:
        return None
    guest = await admit(
        provider, request.client, request.request_object, request.scopes, request.prompt
    )
    if guest is None:
        return None
    if request.hint_subject is not None and request.hint_subject not in (
        guest.user.subject,
        public_subject(guest.user.subject, GUEST_PROVIDER),
    ):
        provider.log.warning("guest sign-in refused: id_token_hint names someone else")
        return None
    logon = Logon(
        subject=guest.user.subject,
        username="",
        display_name=guest.user.name,
        provider=GUEST_PROVIDER,
        logon_time=provider.now(),
    )
    return Authenticated(guest.user, logon, scopes=guest.scopes)


def _check_requested_subject(request: AuthorizeRequest, authenticated: Authenticated) -> None:
    """Core §5.5.1: a `sub` pinned in the claims request answers for that user only."""
    wanted = requested_subjects(request.claims)
    if wanted is None:
        return
    user, provider_name = authenticated.user, authenticated.logon.provider
    actual = {
        public_subject(user.subject, provider_name),
        subject_for(user, provider_name, authenticated.scopes or request.scopes),
    }
    if not actual.intersection(value for value in wanted if isinstance(value, str)):
        raise OAuthError("access_denied", "the signed-in user is not the requested subject")


async def _decide(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
    headers: Mapping[str, str],
) -> Outcome:
    interactive = request.prompt & {"login", "select_account"}
    authenticated = None if interactive else await authenticate(provider, request, cookies, headers)
    if authenticated is None and not interactive:
        authenticated = await _guest(provider, request)
    if authenticated is None:
        if "none" in request.prompt:
            raise OAuthError("login_required", "the user is not signed in")
        if provider.browser_sign_in is not None:
            return continue_redirect(provider, request)
        return signin_redirect(provider, request, "oidc")
    _check_requested_subject(request, authenticated)
    scopes, spent = (
        (authenticated.scopes, [])
        if authenticated.scopes is not None
        else approved_scopes(provider, request, cookies)
    )
    if scopes is None:
        if "none" in request.prompt:
            raise OAuthError("consent_required", "the user has not approved this client")
        return signin_redirect(provider, request, "consent")
    if request.response_type == "code":
        outcome = success(provider, request, authenticated, scopes, cookies)
    else:
        outcome = await provider.signing(
            lambda: success(provider, request, authenticated, scopes, cookies)
        )
    outcome.cookies.extend(spent)
    outcome.cookies.extend(provider.cookies.kept_alive(authenticated.logon, provider.now()))
    return outcome
