"""Minting and reading tokens: JWT access and ID tokens, sealed codes and refresh tokens.

Access and ID tokens are signed JWTs with Konnect's claims. Codes and refresh tokens are
opaque AES-GCM sealed grants: nobody but the provider reads them, and sealing costs a small
fraction of a signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from konnect.crypto import Sealer, public_subject, random_string
from konnect.identity import UPSTREAM_PROVIDER, User
from konnect.keys import KeySet, left_half_hash
from konnect.oidc.claims import (
    GUEST_PROVIDER,
    authentication_claims,
    identity_claim,
    subject_for,
    user_claims,
)
from konnect.oidc.grants import Grant

CODE_LIFETIME = 120
_CODE_PURPOSE = "konnect-code-v1"
_REFRESH_PURPOSE = "konnect-refresh-v1"
_SESSION_PURPOSE = "konnect-backend-session-v1"
_UPSTREAM_USER_PURPOSE = "konnect-upstream-user-v1"


@dataclass(frozen=True)
class Lifetimes:
    access_token: int = 600
    id_token: int = 3600
    refresh_token: int = 94_608_000
    guest_access_token: int = 300
    guest_id_token: int = 300


@dataclass(frozen=True)
class OpenedToken:
    """A code or refresh token after opening: its grant and its own id and expiry."""

    grant: Grant
    token_id: str
    expires_at: int


def grant_id_of(jti: str) -> str:
    """Access-token ids are `<grant id>.<random>`, so a token leads back to its grant family."""
    return jti.split(".", 1)[0]


class TokenIssuer:
    """Builds every token the provider hands out; the clock is injected."""

    def __init__(
        self,
        keys: KeySet,
        sealer: Sealer,
        issuer: str,
        lifetimes: Lifetimes,
        clock: Callable[[], float],
    ) -> None:
        self.keys = keys
        self._sealer = sealer
        self.issuer = issuer
        self.lifetimes = lifetimes
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    def access_lifetime(self, grant: Grant) -> int:
        """Guests get their own, shorter lifetimes."""
        if grant.provider == GUEST_PROVIDER:
            return self.lifetimes.guest_access_token
        return self.lifetimes.access_token

    def _id_lifetime(self, grant: Grant) -> int:
        if grant.provider == GUEST_PROVIDER:
            return self.lifetimes.guest_id_token
        return self.lifetimes.id_token

    def access_token(self, grant: Grant, alg: str | None = None) -> str:
        now = self.now()
        claims: dict[str, Any] = {
            "aud": grant.client_id,
            "exp": now + self.access_lifetime(grant),
            "iat": now,
            "iss": self.issuer,
            "jti": f"{grant.grant_id}.{random_string(8)}",
            "sub": public_subject(grant.user.subject, grant.provider),
            "kc.isAccessToken": True,
            "kc.authorizedScopes": list(grant.scopes),
            "kc.identity": identity_claim(grant.user, grant.provider),
            "kc.provider": grant.provider,
            **authentication_claims(grant),
        }
        if grant.claims:  # only ever from a verified request object (kwmserver's passthru)
            claims["kc.authorizedClaims"] = grant.claims
        if grant.user.session:
            # The cookie backend's cookies, for userinfo to replay; sealed, tokens are readable.
            claims["kc.identity"]["kc.i.cs"] = self._sealer.seal(
                grant.user.session.encode(), _SESSION_PURPOSE
            )
        if grant.provider == UPSTREAM_PROVIDER:
            # No backend knows this user: userinfo answers from the user as granted.
            claims["kc.identity"]["kc.i.us"] = self._sealer.seal_json(
                grant.user.to_record(), _UPSTREAM_USER_PURPOSE
            )
        return self.keys.sign(claims, alg)

    def open_session(self, sealed: str) -> str | None:
        """The backend session an access token carries (`kc.i.cs`), or None."""
        opened = self._sealer.open(sealed, _SESSION_PURPOSE)
        return opened.decode() if opened is not None else None

    def open_upstream_user(self, sealed: object) -> User | None:
        """The upstream-only user an access token carries (`kc.i.us`), or None."""
        if not isinstance(sealed, str):
            return None
        record = self._sealer.open_json(sealed, _UPSTREAM_USER_PURPOSE)
        try:
            return User.from_record(record) if record is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def client_access_token(self, client_id: str, scopes: list[str], alg: str | None = None) -> str:
        """An access token for a client acting on its own behalf (RFC 9068 §2.2: sub = client)."""
        now = self.now()
        claims: dict[str, Any] = {
            "aud": client_id,
            "exp": now + self.lifetimes.access_token,
            "iat": now,
            "iss": self.issuer,
            "jti": random_string(24),
            "sub": client_id,
            "client_id": client_id,
            "kc.isAccessToken": True,
            "kc.authorizedScopes": scopes,
        }
        return self.keys.sign(claims, alg)

    def id_token(
        self,
        grant: Grant,
        alg: str | None = None,
        *,
        access_token: str | None = None,
        code: str | None = None,
    ) -> str:
        now = self.now()
        signing_alg = self.keys.signing_alg_for(alg)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject_for(grant.user, grant.provider, grant.scopes),
            "aud": grant.client_id,
            "exp": now + self._id_lifetime(grant),
            "iat": now,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if grant.include_auth_time:
            claims["auth_time"] = grant.auth_time
        claims.update(authentication_claims(grant))
        if grant.sid:
            claims["sid"] = grant.sid
        if access_token:
            claims["at_hash"] = left_half_hash(access_token, signing_alg)
        if code:
            claims["c_hash"] = left_half_hash(code, signing_alg)
        claims.update(user_claims(grant.user, grant.scopes))
        if grant.provider == GUEST_PROVIDER and not access_token and not code:
            claims["guest"] = grant.user.subject  # Konnect: only when the ID token comes alone
        return self.keys.sign(claims, signing_alg)

    def code(self, grant: Grant) -> str:
        return self._seal(grant, _CODE_PURPOSE, CODE_LIFETIME)

    def refresh_token(self, grant: Grant) -> str:
        """A refresh token whose id is the grant's `next_refresh_id` (or a new random one)."""
        return self._seal(
            grant, _REFRESH_PURPOSE, self.lifetimes.refresh_token, grant.next_refresh_id
        )

    def open_code(self, code: str) -> OpenedToken | None:
        return self._open(code, _CODE_PURPOSE)

    def open_refresh_token(self, token: str) -> OpenedToken | None:
        return self._open(token, _REFRESH_PURPOSE)

    def _seal(self, grant: Grant, purpose: str, lifetime: int, token_id: str = "") -> str:
        record = grant.to_record()
        record["jti"] = token_id or random_string(16)
        record["exp"] = self.now() + lifetime
        return self._sealer.seal(json.dumps(record, separators=(",", ":")).encode(), purpose)

    def _open(self, token: str, purpose: str) -> OpenedToken | None:
        record = self._sealer.open_json(token, purpose)
        if record is None:
            return None
        try:
            opened = OpenedToken(Grant.from_record(record), str(record["jti"]), int(record["exp"]))
        except (KeyError, TypeError, ValueError):
            return None
        if opened.expires_at <= self.now():
            return None
        return opened
