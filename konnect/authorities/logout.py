"""Back-channel logout from trusted authorities (OpenID Connect Back-Channel Logout 1.0).

In Konnect, `trusted` let a SAML provider's signed single logout end the sign-in it had
started. konnect gives `trusted: yes` the same meaning for OpenID providers: such a provider may
end the konnect sign-ins it started. At sign-in, its session (the ID token's `sid`) is
remembered with the konnect sign-in session in the state store. A logout token posted to the
logout path is checked in full (§2.6): signature with the provider's keys, `iss`, `aud`, `iat`
(recent), the back-channel logout event, no `nonce`, a `sid`, and its `jti` used once; then the
konnect sign-in it names is signed out on every instance, as a sign-out on the sign-in page is.
Logout tokens of any other provider are refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from konnect.authorities.id_token import LEEWAY, audiences_of, key_id
from konnect.authorities.upstream import Upstream, UpstreamUnavailable
from konnect.keys import InvalidToken, verify_with_client_keys
from konnect.oidc.provider import Provider
from konnect.oidc.signin_sessions import sign_out_session

EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Logout tokens older than this are refused; their `jti` is remembered as long.
MAX_AGE = 300
_SESSION_KEY = "authority-session:"
_JTI_KEY = "authority-logout:"


class LogoutRefused(Exception):
    """A logout token no trusted authority issued, or one failing a check (the reason)."""


class UpstreamLogout:
    """Ends konnect sign-ins when the trusted authority that started them says so."""

    def __init__(self, provider: Provider, upstreams: Mapping[str, Upstream]) -> None:
        self.provider = provider
        self.trusted = {key: item for key, item in upstreams.items() if item.settings.trusted}

    async def remember(self, authority: str, claims: Mapping[str, Any], session: str) -> None:
        """At a sign-in through a trusted authority: the konnect sign-in session its own
        session (`sid`) started. StateStoreUnavailable when it cannot be remembered."""
        upstream = self.trusted.get(authority)
        sid = claims.get("sid")
        if upstream is None or not isinstance(sid, str) or not sid:
            return
        lifetime = self.provider.cookies.lifetime.absolute
        await self.provider.store.put(_key(_SESSION_KEY, upstream, sid), session, lifetime)

    async def log_out(self, token: str) -> None:
        """Sign out the konnect sign-in a trusted authority's logout token names;
        LogoutRefused for a token that may not."""
        upstream, claims = await self._verified(token)
        store = self.provider.store
        if not await store.claim(_key(_JTI_KEY, upstream, claims["jti"]), MAX_AGE + LEEWAY):
            raise LogoutRefused("the logout token was used before")
        session = await store.get(_key(_SESSION_KEY, upstream, claims["sid"]))
        if session:
            await sign_out_session(self.provider, session)

    async def _verified(self, token: str) -> tuple[Upstream, dict[str, Any]]:
        """The trusted authority whose keys signed the token, and its checked claims;
        UpstreamUnavailable when one that might have cannot be reached."""
        unreachable = None
        for upstream in self.trusted.values():
            try:
                await upstream.metadata(self.provider.background)
                jwks = await upstream.keys(key_id(token))
                claims = verify_with_client_keys(
                    token, jwks, None, now=self.provider.now(), leeway=LEEWAY
                )
            except UpstreamUnavailable as exc:
                unreachable = exc
                continue
            except InvalidToken:
                continue
            if claims.get("iss") == upstream.settings.iss:
                _check(claims, upstream.settings.client_id, self.provider.now())
                return upstream, claims
        if unreachable is not None:
            raise unreachable
        raise LogoutRefused("not signed by a trusted authority")


def _check(claims: Mapping[str, Any], client_id: str, now: int) -> None:
    """Back-Channel Logout §2.6, after signature and issuer."""
    if client_id not in audiences_of(claims.get("aud")):
        raise LogoutRefused("issued for another client")
    iat = claims.get("iat")
    if not isinstance(iat, int) or iat < now - MAX_AGE:
        raise LogoutRefused("no iat, or too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise LogoutRefused("not a logout token")
    if "nonce" in claims:
        raise LogoutRefused("a logout token has no nonce")
    for name in ("sid", "jti"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise LogoutRefused(f"no {name}")


def _key(prefix: str, upstream: Upstream, value: str) -> str:
    digest = hashlib.sha256(f"{upstream.settings.id}\n{value}".encode()).hexdigest()
    return prefix + digest
