"""The end session endpoint (RP-initiated logout), Konnect-compatible and strict about
where it sends the browser: only to a `post_logout_redirect_uri` registered for the client,
and for a client that registered itself only with an ID token of the signed-in user as
`id_token_hint` (otherwise anyone could send people anywhere through konnect). Without such
a hint the user confirms the sign-out. When it signs the user out, it also names the session
that ended, for the logout channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from konnect.clients import ClientRegistration
from konnect.oidc.authorize import Outcome, redirect_with
from konnect.oidc.errors import OAuthError
from konnect.oidc.id_token_hint import hint_claims, hint_names
from konnect.oidc.logout_channels import EndedSession, ended_session
from konnect.oidc.provider import Provider
from konnect.oidc.session import CookieSpec


def _client(
    provider: Provider, params: Mapping[str, str], hint: dict[str, object] | None
) -> ClientRegistration | None:
    hinted = hint.get("aud") if hint else None
    client_id = params.get("client_id") or (hinted if isinstance(hinted, str) else None)
    if hinted is not None and params.get("client_id") not in (None, hinted):
        raise OAuthError("invalid_request", "client_id does not match the id_token_hint")
    return provider.clients.get(client_id) if client_id else None


def _signed_out_cookies(provider: Provider) -> list[CookieSpec]:
    cookies = provider.cookies
    return [cookies.delete_logon(), cookies.delete_session(), cookies.delete_browser_state()]


@dataclass(frozen=True)
class EndSession:
    """Where the browser goes next and, when the user was signed out, the session that ended."""

    outcome: Outcome
    signed_out: bool = False
    ended: EndedSession | None = None


def end_session(
    provider: Provider, params: Mapping[str, str], cookies: Mapping[str, str]
) -> EndSession:
    hint = hint_claims(provider, params)
    client = _client(provider, params, hint)
    target = params.get("post_logout_redirect_uri")
    if target is not None and (
        client is None or not provider.clients.post_logout_redirect_allowed(client, target)
    ):
        raise OAuthError("invalid_request", "post_logout_redirect_uri is not registered")
    logon = provider.cookies.read_logon(cookies, now=provider.now())
    hint_matches = False
    if logon is not None and hint is not None:
        if not hint_names(hint.get("sub"), logon.subject, logon.provider):
            raise OAuthError("invalid_request", "id_token_hint names another user")
        hint_matches = True
    # Only an ID token of the signed-in user shows that the user's own app asks: anything
    # else (a bare link, even with a trusted client's id) needs the user's confirmation.
    confirmed = logon is None or hint_matches
    back = None
    if target is not None and client is not None and (client.verified or hint_matches):
        state = {"state": params["state"]} if params.get("state") else {}
        back = redirect_with(target, state, "query")
    if not confirmed:
        return EndSession(_goodbye(provider, client, back))
    outcome = Outcome(cookies=_signed_out_cookies(provider))
    outcome.location = back or _goodbye(provider, client, None).location
    return EndSession(outcome, True, ended_session(provider, cookies))


def _goodbye(provider: Provider, client: ClientRegistration | None, back: str | None) -> Outcome:
    """The signed-out page asks the user to confirm; nothing is ended without that. Once
    confirmed, the web app returns to the client at `back` (sealed into `logout`)."""
    location = provider.endpoints.signed_out_url
    if client is not None:
        query = {"client_id": client.id, "flow": "oidc"}
        if back is not None:
            query["logout"] = provider.cookies.seal_logout_return(back, provider.now())
        separator = "&" if "?" in location else "?"
        location += separator + urlencode(query)
    return Outcome(location=location)
