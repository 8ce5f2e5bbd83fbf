"""The round trip through an upstream provider, from the redirect there to a konnect sign-in.

Start: a pending sign-in (state, nonce, PKCE verifier, the authorization request it serves) is
sealed into a cookie named by its state, so the answer is honoured only in the browser that
asked, once, within ten minutes. Finish: the upstream's answer becomes an ID token (from the
code exchange, or the front channel with `response_type: id_token`), which is checked in full
(`id_token`), and its claims name the user here (`mapping`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from konnect.authorities.config import AuthoritySettings
from konnect.authorities.id_token import key_id, verified_claims
from konnect.authorities.mapping import mapped_user
from konnect.authorities.upstream import UPSTREAM, Upstream, UpstreamUnavailable
from konnect.crypto import random_string
from konnect.crypto.sealing import Sealer
from konnect.identity import User
from konnect.keys import InvalidToken
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.session import CookieSpec
from konnect.outgoing import FetchError
from konnect.strict_json import parse_json

STATE_PURPOSE = "konnect-authority-state-v1"
SIGN_OUT_PURPOSE = "konnect-authority-sign-out-v1"
SESSION_PURPOSE = "konnect-authority-session-v1"
SESSION_COOKIE = "konnect-authority"
STATE_MAX_AGE = 600
STATE_COOKIE = "konnect-oauth2-"
_STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")
#: Authorization request parameters passed on to the upstream (as Konnect does).
FORWARDED = ("display", "prompt", "max_age", "ui_locales", "acr_values", "claims_locales")
#: Upstream errors the relying party hears as they are; any other becomes access_denied.
PASSED_ON = {
    "access_denied",
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
    "temporarily_unavailable",
}
REFUSED = "the identity provider's answer was refused"


class CallbackRefused(Exception):
    """An answer that belongs to no pending sign-in of this browser: nothing to go back to."""


@dataclass(frozen=True)
class Pending:
    """A sign-in waiting for the upstream's answer."""

    authority: str
    state: str
    nonce: str
    verifier: str
    request: dict[str, str]  # the authorization request, to continue with afterwards


@dataclass(frozen=True)
class SignedIn:
    """A finished upstream sign-in: the user here, and the upstream's ID token and claims."""

    user: User
    id_token: str
    claims: Mapping[str, Any]


class RoundTrip:
    """Starts and finishes sign-ins through the configured upstream providers."""

    def __init__(self, provider: Provider, upstreams: list[Upstream], sealer: Sealer) -> None:
        self.provider = provider
        self.upstreams = {upstream.settings.id: upstream for upstream in upstreams}
        self.sealer = sealer
        endpoints = provider.endpoints
        self.callback_path = endpoints.signin_page + "/oauth2/cb"
        self.start_path = endpoints.signin_page + "/oauth2/start"
        self.logout_path = endpoints.signin_page + "/oauth2/logout"
        self.redirect_uri = endpoints.url(self.callback_path)

    # -- start ----------------------------------------------------------------------------------
    async def start(self, upstream: Upstream, request: dict[str, str]) -> tuple[str, CookieSpec]:
        """Where to send the browser at the upstream, and the cookie of the pending sign-in."""
        metadata = await upstream.metadata(self.provider.background)
        settings = upstream.settings
        pending = Pending(
            settings.id, random_string(32), random_string(32), random_string(64), request
        )
        params = {
            "client_id": settings.client_id,
            "response_type": settings.response_type,
            "scope": " ".join(settings.scopes),
            "redirect_uri": self.redirect_uri,
            "state": pending.state,
            "nonce": pending.nonce,
        }
        if settings.response_type == "id_token":
            params["response_mode"] = "query"
        if settings.code_challenge_method:
            params["code_challenge"] = _challenge(pending.verifier)
            params["code_challenge_method"] = "S256"
        params.update({key: request[key] for key in FORWARDED if request.get(key)})
        if request.get("login_hint"):
            params["login_hint"] = request["login_hint"]
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return metadata.authorization_endpoint + separator + urlencode(params), self._seal(pending)

    def _seal(self, pending: Pending) -> CookieSpec:
        record = {
            "a": pending.authority,
            "s": pending.state,
            "n": pending.nonce,
            "v": pending.verifier,
            "r": pending.request,
            "exp": self.provider.now() + STATE_MAX_AGE,
        }
        value = self.sealer.seal_json(record, STATE_PURPOSE)
        return CookieSpec(
            self.cookie_name(pending.state), value, self.callback_path, max_age=STATE_MAX_AGE
        )

    def cookie_name(self, state: str) -> str:
        return self.provider.cookies.policy.name(STATE_COOKIE + state)

    # -- finish ---------------------------------------------------------------------------------
    def pending(self, answer: Mapping[str, str], cookies: Mapping[str, str]) -> Pending:
        """The sign-in this browser started that `answer` is for; CallbackRefused otherwise."""
        state = answer.get("state", "")
        if not _STATE_SHAPE.fullmatch(state):
            raise CallbackRefused("no state")
        record = self.sealer.open_json(cookies.get(self.cookie_name(state), ""), STATE_PURPOSE)
        if record is None or record.get("s") != state:
            raise CallbackRefused("no pending sign-in in this browser")
        if not isinstance(record.get("exp"), int) or record["exp"] < self.provider.now():
            raise CallbackRefused("the pending sign-in expired")
        request = record.get("r")
        if record.get("a") not in self.upstreams or not isinstance(request, dict):
            raise CallbackRefused("the pending sign-in names no authority")
        return Pending(record["a"], state, str(record["n"]), str(record["v"]), request)

    def forget(self, state: str) -> CookieSpec:
        return CookieSpec(self.cookie_name(state), None, self.callback_path)

    async def finish(self, pending: Pending, answer: Mapping[str, str]) -> SignedIn:
        """The sign-in the upstream's answer completes; OAuthError for the relying party
        otherwise."""
        if not await self.provider.store.claim("authority-state:" + pending.state, STATE_MAX_AGE):
            raise OAuthError("access_denied", REFUSED, detail="the answer was used before")
        upstream = self.upstreams[pending.authority]
        if answer.get("error"):
            raise _upstream_error(answer["error"])
        token = await self._id_token(upstream, pending, answer)
        claims = await self._claims(upstream, pending, token)
        user = await mapped_user(self.provider, upstream.settings.user_mapping, claims)
        return SignedIn(user, token, claims)

    async def _id_token(
        self, upstream: Upstream, pending: Pending, answer: Mapping[str, str]
    ) -> str:
        if upstream.settings.response_type == "id_token":
            return answer.get("id_token", "")
        if not answer.get("code"):
            raise OAuthError("access_denied", REFUSED, detail="no code")
        metadata = await upstream.metadata(self.provider.background)
        settings = upstream.settings
        form = {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": self.redirect_uri,
            "client_id": settings.client_id,
        }
        if settings.code_challenge_method:
            form["code_verifier"] = pending.verifier
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if settings.client_secret:
            headers["Authorization"] = _basic(settings.client_id, settings.client_secret)
        try:
            async with self.provider.events.authority_call(settings.id, "token", FetchError):
                reply = await self.provider.http.request(
                    UPSTREAM,
                    "POST",
                    metadata.token_endpoint,
                    public_only=False,
                    headers=headers,
                    body=urlencode(form).encode(),
                )
        except FetchError as exc:
            self.provider.log.warning("authority %r: %s", settings.id, exc)
            raise UpstreamUnavailable from None
        return _token_from(reply.status, reply.body)

    async def _claims(self, upstream: Upstream, pending: Pending, token: str) -> dict[str, Any]:
        jwks = await upstream.keys(key_id(token))
        try:
            return verified_claims(
                token, jwks, upstream.settings, pending.nonce, self.provider.now()
            )
        except InvalidToken as exc:
            raise OAuthError("access_denied", REFUSED, detail=f"ID token: {exc.reason}") from None

    async def signed_in_user(self, settings: AuthoritySettings, claims: Mapping[str, Any]) -> User:
        """The user an authority's claims (or SAML attributes) sign in here; OAuthError for
        the relying party otherwise. Shared by the OpenID Connect and SAML flows."""
        return await mapped_user(self.provider, settings.user_mapping, claims)


class UpstreamSignOut:
    """With `end_session_enabled`: a sign-out here goes on to the upstream's end session
    endpoint, whose answer comes back to the callback and continues where the sign-out went.
    """

    def __init__(self, round_trip: RoundTrip) -> None:
        self.round_trip = round_trip
        provider = round_trip.provider
        self._provider = provider
        self._name = provider.cookies.policy.name(SESSION_COOKIE)

    def remembered(self, authority: str, id_token: str) -> list[CookieSpec]:
        """The cookie naming the upstream sign-in, for authorities that end it too."""
        upstream = self.round_trip.upstreams[authority]
        if not upstream.settings.end_session_enabled:
            return []
        value = self.round_trip.sealer.seal_json({"a": authority, "t": id_token}, SESSION_PURPOSE)
        return [CookieSpec(self._name, value, self._provider.endpoints.identifier_api)]

    async def __call__(
        self, cookies: Mapping[str, str], next_url: str | None
    ) -> tuple[str | None, list[CookieSpec]]:
        record = self.round_trip.sealer.open_json(cookies.get(self._name, ""), SESSION_PURPOSE)
        if record is None:
            return next_url, []
        forget = CookieSpec(self._name, None, self._provider.endpoints.identifier_api)
        upstream = self.round_trip.upstreams.get(str(record.get("a")))
        if upstream is None or not upstream.settings.end_session_enabled:
            return next_url, [forget]
        try:
            metadata = await upstream.metadata(self._provider.background)
        except UpstreamUnavailable:
            return next_url, [forget]
        if not metadata.end_session_endpoint:
            return next_url, [forget]
        state = random_string(32)
        params = {
            "id_token_hint": str(record.get("t", "")),
            "post_logout_redirect_uri": self.round_trip.redirect_uri,
            "client_id": upstream.settings.client_id,
            "state": state,
        }
        sealed = self.round_trip.sealer.seal_json(
            {"s": state, "n": next_url or "", "exp": self._provider.now() + STATE_MAX_AGE},
            SIGN_OUT_PURPOSE,
        )
        pending = CookieSpec(
            self.round_trip.cookie_name(state), sealed, self.round_trip.callback_path
        )
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        location = metadata.end_session_endpoint + separator + urlencode(params)
        return location, [forget, pending]

    def returned(self, answer: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
        """Where a browser back from the upstream's end session goes on (None: the answer
        is not the end of a sign-out started here)."""
        state = answer.get("state", "")
        if not _STATE_SHAPE.fullmatch(state):
            return None
        name = self.round_trip.cookie_name(state)
        record = self.round_trip.sealer.open_json(cookies.get(name, ""), SIGN_OUT_PURPOSE)
        if record is None or record.get("s") != state:
            return None
        if not isinstance(record.get("exp"), int) or record["exp"] < self._provider.now():
            return None
        next_url = record.get("n")
        return next_url if isinstance(next_url, str) and next_url else ""


def _upstream_error(code: str) -> OAuthError:
    error = code if code in PASSED_ON else "access_denied"
    return OAuthError(error, "the identity provider did not sign the user in", detail=code[:100])


def _token_from(status: int, body: bytes) -> str:
    try:
        document = parse_json(body) if status == 200 else None
    except ValueError:
        document = None
    token = document.get("id_token") if isinstance(document, dict) else None
    if not isinstance(token, str):
        raise OAuthError("access_denied", REFUSED, detail=f"token endpoint answered {status}")
    return token


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-encoded before base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(pair).decode()
