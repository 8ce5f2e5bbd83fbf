"""Step 2 of the authorization endpoint: who is signed in, or where to sign in.

OpenID Connect Core §3.1.2.3: the user is re-read from the identity backend (a cookie
backend is asked about the browser's cookies), checked against max_age and id_token_hint
(Core §3.1.2.1) and a `sub` the claims request pins (Core §5.5.1); a guest named in a client's
signed request object is admitted by `konnect.oidc.guest`. Without a user the browser goes to
the sign-in web app (or the cookie backend's sign-in page).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from konnect.crypto import public_subject
from konnect.identity import BackendUnavailable, BrowserSignIn, User
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import AuthorizeRequest
from konnect.oidc.claims import requested_subjects, subject_for
from konnect.oidc.errors import OAuthError
from konnect.oidc.guest import GUEST_PROVIDER, admit
from konnect.oidc.id_token_hint import hint_names
from konnect.oidc.provider import Provider
from konnect.oidc.scopes import OFFLINE_ACCESS
from konnect.oidc.session import Logon
from konnect.oidc.signin_sessions import cookie_user, current_logon, logon_user


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
    if logon is None:
        return None
    try:
        user = await logon_user(provider, logon)
    except BackendUnavailable:
        raise OAuthError(
            "temporarily_unavailable", "the user directory is unavailable, try again later"
        ) from None
    if user is None:
        return None
    if not _matches_hint(request, user.subject, logon.provider):
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
        user = await cookie_user(provider, backend, cookies, headers)
    except BackendUnavailable as exc:
        provider.log.error("cookie backend failed: %s", exc)
        raise OAuthError("server_error", "the sign-in backend failed") from None
    if user is None:
        return None
    if not _matches_hint(request, user.subject, provider.backend.name):
        raise OAuthError("login_required", "id_token_hint does not match the signed-in user")
    logon = Logon(user.subject, user.username, user.name, provider.backend.name, provider.now())
    return Authenticated(user, logon, scopes=_browser_scopes(provider, request))


def _browser_scopes(provider: Provider, request: AuthorizeRequest) -> tuple[str, ...]:
    """Cookie users cannot consent: the supported scopes, never offline_access."""
    if "consent" in request.prompt:
        raise OAuthError("interaction_required", "consent is not available with this backend")
    supported = provider.scopes.filter_supported(request.scopes)
    return tuple(scope for scope in supported if scope != OFFLINE_ACCESS)


async def admitted_guest(provider: Provider, request: AuthorizeRequest) -> Authenticated | None:
    """A guest named by the client's signed request object (a signed-in user wins)."""
    if request.request_object is None:
        return None
    guest = await admit(
        provider, request.client, request.request_object, request.scopes, request.prompt
    )
    if guest is None:
        return None
    if not _matches_hint(request, guest.user.subject, GUEST_PROVIDER):
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


def _matches_hint(request: AuthorizeRequest, subject: str, provider_name: str) -> bool:
    """Core §3.1.2.1: without an id_token_hint any user; with one, only the user it names."""
    hinted = request.hint_subject
    return hinted is None or hint_names(hinted, subject, provider_name)


def check_requested_subject(request: AuthorizeRequest, authenticated: Authenticated) -> None:
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


async def signed_in(
    provider: Provider,
    request: AuthorizeRequest,
    cookies: Mapping[str, str],
    headers: Mapping[str, str],
) -> Authenticated | None:
    """The signed-in user or admitted guest; None when a sign-in is needed (always with
    prompt login or select_account)."""
    interactive = request.prompt & {"login", "select_account"}
    authenticated = None if interactive else await authenticate(provider, request, cookies, headers)
    if authenticated is None and not interactive:
        authenticated = await admitted_guest(provider, request)
    if authenticated is not None:
        check_requested_subject(request, authenticated)
    return authenticated


def signin_needed(provider: Provider, request: AuthorizeRequest) -> Outcome:
    """Core §3.1.2.1 prompt=none: no sign-in page; otherwise the one that applies."""
    if "none" in request.prompt:
        raise OAuthError("login_required", "the user is not signed in")
    if provider.browser_sign_in is not None:
        return continue_redirect(provider, request)
    return signin_redirect(provider, request, "oidc")
