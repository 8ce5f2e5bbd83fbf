"""The round trip through a SAML 2.0 identity provider, beside the OpenID Connect one.

Start: an AuthnRequest (redirect binding, transient NameID) whose id, with the authorization
request it serves, is sealed into a cookie named by the RelayState, so the answer is honoured
only in the browser that asked, once, within ten minutes. Finish: the POSTed Response is
checked (`saml_answer`), its assertion id is claimed in the state store so that it is accepted
once, and the identity attribute is mapped to a local user by the sign-in flow shared with
OpenID Connect authorities. Sign-out: with `end_session_enabled` a LogoutRequest goes to the
identity provider; the single logout path takes its LogoutResponse, and its LogoutRequest when
a sign-out starts there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.samlp import STATUS_SUCCESS

from konnect.authorities.config import AuthoritySettings
from konnect.authorities.flow import REFUSED, RoundTrip
from konnect.authorities.saml_answer import AnswerRefused, SamlIdentity, checked, parsed
from konnect.authorities.saml_logout import (
    LogoutRefused,
    SamlSession,
    answer_logout,
    logout_request,
    logout_status,
)
from konnect.authorities.saml_upstream import (
    LEEWAY,
    SamlClient,
    SamlUpstream,
    ServiceProvider,
    Workers,
)
from konnect.authorities.upstream import UpstreamUnavailable
from konnect.crypto import random_string
from konnect.crypto.sealing import Sealer
from konnect.identity import User
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.session import CookieSpec

STATE_PURPOSE = "konnect-saml-state-v1"
SESSION_PURPOSE = "konnect-saml-session-v1"
LOGOUT_PURPOSE = "konnect-saml-logout-v1"
STATE_COOKIE = "konnect-saml2-"
SESSION_COOKIE = "konnect-saml2-session"
STATE_MAX_AGE = 600
_STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


class AnswerUnexpected(Exception):
    """An answer that belongs to no pending sign-in of this browser: nothing to go back to."""


@dataclass(frozen=True)
class SamlPending:
    """A sign-in waiting for the identity provider's answer."""

    authority: str
    state: str
    request_id: str
    request: dict[str, str]  # the authorization request, to continue with afterwards


@dataclass(frozen=True)
class SamlSignIn:
    """A finished sign-in: the local user, when the identity provider's session ends (0: it
    said nothing) and the cookie naming that session."""

    user: User
    not_after: int
    cookies: list[CookieSpec]


class SamlFlow:
    """Starts and finishes sign-ins through the configured SAML identity providers."""

    def __init__(
        self,
        provider: Provider,
        settings: list[AuthoritySettings],
        sealer: Sealer,
        round_trip: RoundTrip,
    ) -> None:
        self.provider = provider
        self.sealer = sealer
        self.round_trip = round_trip
        endpoints = provider.endpoints
        self.metadata_path = endpoints.signin_page + "/saml2/metadata"
        self.acs_path = endpoints.signin_page + "/saml2/acs"
        self.slo_path = endpoints.signin_page + "/_/saml2/slo"
        self.workers = Workers()
        self.upstreams = {
            item.id: SamlUpstream(
                item,
                ServiceProvider(
                    item.entity_id or endpoints.url(self.metadata_path),
                    endpoints.url(self.acs_path),
                    endpoints.url(self.slo_path),
                ),
                self.workers,
                provider.http,
                provider.clock,
                provider.log,
                provider.events,
            )
            for item in settings
        }

    # -- start ----------------------------------------------------------------------------------
    async def start(
        self, upstream: SamlUpstream, request: dict[str, str]
    ) -> tuple[str, CookieSpec]:
        """Where to send the browser at the identity provider, and the pending sign-in."""
        client = await upstream.client(self.provider.background)
        state = random_string(32)
        request_id, location = client.authn_request(state)
        record = {
            "a": upstream.settings.id,
            "s": state,
            "i": request_id,
            "r": request,
            "exp": self.provider.now() + STATE_MAX_AGE,
        }
        value = self.sealer.seal_json(record, STATE_PURPOSE)
        cookie = CookieSpec(self._state_name(state), value, self.acs_path, max_age=STATE_MAX_AGE)
        return location, cookie

    def _state_name(self, state: str) -> str:
        return self.provider.cookies.policy.name(STATE_COOKIE + state)

    # -- finish ---------------------------------------------------------------------------------
    def pending(self, relay_state: str, cookies: Mapping[str, str]) -> SamlPending:
        """The sign-in this browser started that the answer is for; AnswerUnexpected
        otherwise (an unsolicited answer included)."""
        if not _STATE_SHAPE.fullmatch(relay_state):
            raise AnswerUnexpected("no RelayState")
        record = self._open(cookies.get(self._state_name(relay_state), ""), STATE_PURPOSE)
        if record is None or record.get("s") != relay_state:
            raise AnswerUnexpected("no pending sign-in in this browser")
        request = record.get("r")
        if record.get("a") not in self.upstreams or not isinstance(request, dict):
            raise AnswerUnexpected("the pending sign-in names no authority")
        return SamlPending(record["a"], relay_state, str(record.get("i")), request)

    def forget(self, state: str) -> CookieSpec:
        return CookieSpec(self._state_name(state), None, self.acs_path)

    async def finish(self, pending: SamlPending, saml_response: str) -> SamlSignIn:
        """The local user the identity provider signed in, until when, and the cookie naming
        its session there; OAuthError for the relying party otherwise."""
        store = self.provider.store
        if not await store.claim("authority-state:" + pending.state, STATE_MAX_AGE):
            raise OAuthError("access_denied", REFUSED, detail="the answer was used before")
        upstream = self.upstreams[pending.authority]
        client = await upstream.client(self.provider.background)
        identity = await self._identity(client, saml_response, pending.request_id)
        ttl = max(identity.valid_until - self.provider.now(), 0) + 2 * LEEWAY
        if not await store.claim(
            f"saml-assertion:{client.idp_entity_id}:{identity.assertion_id}", ttl
        ):
            raise OAuthError("access_denied", REFUSED, detail="the assertion was used before")
        claims = _claims(client.idp_entity_id, identity)
        user = await self.round_trip.signed_in_user(upstream.settings, claims)
        session = self._remembered(upstream.settings, identity)
        return SamlSignIn(user, identity.session_not_after, session)

    async def _identity(
        self, client: SamlClient, saml_response: str, request_id: str
    ) -> SamlIdentity:
        try:
            answer = await self.workers.run(parsed, client, saml_response, request_id)
            return checked(answer, client, request_id, self.provider.now())
        except AnswerRefused as exc:
            raise OAuthError("access_denied", REFUSED, detail=f"SAML: {exc}") from None

    def _remembered(self, settings: AuthoritySettings, identity: SamlIdentity) -> list[CookieSpec]:
        """The identity provider's session, which its single logout names (and a sign-out
        here ends, with `end_session_enabled`)."""
        record = {
            "a": settings.id,
            "n": identity.name_id,
            "f": identity.name_id_format,
            "x": identity.session_index,
        }
        return [self._session_cookie(self.sealer.seal_json(record, SESSION_PURPOSE))]

    def forget_session(self) -> CookieSpec:
        return self._session_cookie(None)

    def _session_cookie(self, value: str | None) -> CookieSpec:
        name = self.provider.cookies.policy.name(SESSION_COOKIE)
        return CookieSpec(name, value, self.provider.endpoints.signin_prefix)

    def session(self, cookies: Mapping[str, str]) -> SamlSession | None:
        name = self.provider.cookies.policy.name(SESSION_COOKIE)
        record = self._open(cookies.get(name, ""), SESSION_PURPOSE)
        if record is None or record.get("a") not in self.upstreams:
            return None
        return SamlSession(
            str(record["a"]), str(record.get("n")), str(record.get("f")), str(record.get("x"))
        )

    # -- single logout --------------------------------------------------------------------------
    async def sign_out(
        self, cookies: Mapping[str, str], next_url: str | None
    ) -> tuple[str | None, list[CookieSpec]] | None:
        """A LogoutRequest to the identity provider the browser signed in with, when it ends
        sessions there too; None when the browser holds no SAML sign-in."""
        session = self.session(cookies)
        if session is None:
            return None
        forget = self._session_cookie(None)
        upstream = self.upstreams[session.authority]
        try:
            client = await upstream.client(self.provider.background)
        except UpstreamUnavailable:
            return next_url, [forget]
        if not upstream.settings.end_session_enabled or not client.slo_url:
            return next_url, [forget]
        state = random_string(32)
        request_id, location = await self.workers.run(logout_request, client, session, state)
        record = {
            "a": session.authority,
            "s": state,
            "i": request_id,
            "n": next_url or "",
            "exp": self.provider.now() + STATE_MAX_AGE,
        }
        value = self.sealer.seal_json(record, LOGOUT_PURPOSE)
        pending = CookieSpec(self._state_name(state), value, self.slo_path, max_age=STATE_MAX_AGE)
        return location, [forget, pending]

    async def logout_returned(
        self, params: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[str, CookieSpec]:
        """Where a browser back from the identity provider's single logout goes on; its
        LogoutResponse must answer the LogoutRequest this browser carried there."""
        state = params.get("RelayState", "")
        if not _STATE_SHAPE.fullmatch(state):
            raise LogoutRefused("no RelayState")
        record = self._open(cookies.get(self._state_name(state), ""), LOGOUT_PURPOSE)
        if record is None or record.get("s") != state or record.get("a") not in self.upstreams:
            raise LogoutRefused("no sign-out of this browser")
        client = await self.upstreams[record["a"]].client(self.provider.background)
        status = await self.workers.run(logout_status, client, params, str(record.get("i")))
        if status != STATUS_SUCCESS:
            self.provider.log.info("SAML single logout answered %s", status)
        next_url = str(record.get("n") or "") or self.provider.endpoints.signed_out_url
        return next_url, CookieSpec(self._state_name(state), None, self.slo_path)

    async def logout_requested(
        self, params: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[str, bool]:
        """The LogoutResponse URL for an identity provider's signed LogoutRequest, and
        whether it names this browser's session there (then it ends here too)."""
        session = self.session(cookies)
        if session is not None:
            authority = session.authority
        elif len(self.upstreams) == 1:
            authority = next(iter(self.upstreams))
        else:
            raise LogoutRefused("this browser holds no SAML sign-in")
        client = await self.upstreams[authority].client(self.provider.background)
        return await self.workers.run(answer_logout, client, params, session)

    def _open(self, value: str, purpose: str) -> dict[str, Any] | None:
        record = self.sealer.open_json(value, purpose) if value else None
        if record is None:
            return None
        expires = record.get("exp")
        if expires is not None and (not isinstance(expires, int) or expires < self.provider.now()):
            return None
        return record


def _claims(idp_entity_id: str, identity: SamlIdentity) -> dict[str, str]:
    """The attributes, and for a persistent NameID the `iss` and `sub` that key a user who
    exists only upstream (a transient NameID changes with every sign-in, so it keys nobody)."""
    claims = {key: value for key, value in identity.attributes.items() if key not in ("iss", "sub")}
    if identity.name_id_format == NAMEID_FORMAT_PERSISTENT:
        claims.update(iss=idp_entity_id, sub=identity.name_id)
    return claims
