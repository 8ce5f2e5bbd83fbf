"""Client authentication with a signed JWT: `client_secret_jwt` and `private_key_jwt`.

RFC 7523 §2.2 and §3, OpenID Connect Core §9. The assertion is verified before authlib's grant
runs (its keys may have to be fetched and its `jti` is spent in the grant lifecycle, both
I/O); authlib then only learns which client it proved to be.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from konnect.clients import ClientRegistration
from konnect.clients.model import CLIENT_SECRET_JWT, JWT_AUTH_METHODS
from konnect.keys import InvalidToken, decode_unverified_claims, verify_with_client_secret
from konnect.oidc.client_keys import KeysUnavailable, verify_signed_by_client
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: An assertion is a one-time proof: its exp may lie at most this far ahead.
MAX_LIFETIME = 600
#: Clock skew allowed between client and provider.
LEEWAY = 30
_MAX_JTI_LENGTH = 256


@dataclass(frozen=True)
class AssertedClient:
    """A client that proved itself with an assertion, and the method it used."""

    client: ClientRegistration
    method: str


def _refused(description: str) -> OAuthError:
    return OAuthError("invalid_client", description)


class ClientAssertions:
    """Verifies client assertions for the token, revocation and introspection endpoints."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider

    async def verify(
        self, form: Mapping[str, str], headers: Mapping[str, str], endpoint_url: str
    ) -> AssertedClient | None:
        """The client an assertion in the form proves, None without one. Raises OAuthError."""
        kind, assertion = form.get("client_assertion_type"), form.get("client_assertion")
        if kind is None and assertion is None:
            return None
        if "client_secret" in form or headers.get("authorization"):
            # RFC 6749 §2.3: a client uses one authentication method per request.
            raise OAuthError("invalid_request", "use one client authentication method only")
        if kind != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        client = self._claimed_client(assertion, form.get("client_id"))
        method = client.token_endpoint_auth_method or ""
        if method not in JWT_AUTH_METHODS:
            raise _refused("the client is not registered for JWT client authentication")
        claims = await self._verified_claims(assertion, client)
        self._check_claims(claims, client.id, self._audiences(endpoint_url))
        await self._use_once(client.id, claims)
        return AssertedClient(client, method)

    def _claimed_client(self, assertion: str, client_id: str | None) -> ClientRegistration:
        """The registered client the assertion names in `sub` (and `client_id`, if sent)."""
        try:
            subject = decode_unverified_claims(assertion).get("sub")
        except InvalidToken:
            raise _refused("client_assertion is malformed") from None
        if not isinstance(subject, str) or not subject:
            raise _refused("client_assertion has no sub")
        if client_id is not None and client_id != subject:
            raise _refused("client_id does not match the client_assertion")
        client = self._provider.clients.get(subject)
        if client is None or client.implicit:
            raise _refused("unknown client")
        return client

    async def _verified_claims(self, assertion: str, client: ClientRegistration) -> dict[str, Any]:
        alg = client.token_endpoint_auth_signing_alg
        now = self._provider.now()
        try:
            if client.token_endpoint_auth_method == CLIENT_SECRET_JWT:
                return verify_with_client_secret(
                    assertion, client.secret or "", alg, now=now, leeway=LEEWAY
                )
            return await verify_signed_by_client(
                self._provider, assertion, client, alg, now=now, require_exp=True, leeway=LEEWAY
            )
        except InvalidToken as exc:
            raise _refused(f"client_assertion is invalid: {exc.reason}") from None
        except KeysUnavailable as exc:
            raise _refused(str(exc)) from None

    def _audiences(self, endpoint_url: str) -> frozenset[str]:
        endpoints = self._provider.endpoints
        return frozenset({self._provider.issuer, endpoints.url(endpoints.token), endpoint_url})

    def _check_claims(
        self, claims: Mapping[str, Any], client_id: str, audiences: Collection[str]
    ) -> None:
        """RFC 7523 §3: iss and sub are the client, aud names us, exp is near and jti set."""
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise _refused("client_assertion iss and sub must be the client_id")
        aud = claims.get("aud")
        named = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(item, str) and item in audiences for item in named):
            raise _refused("client_assertion aud must be the token endpoint or the issuer")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp > self._provider.now() + MAX_LIFETIME + LEEWAY:
            raise _refused(f"client_assertion must expire within {MAX_LIFETIME} seconds")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
            raise _refused("client_assertion needs a jti")

    async def _use_once(self, client_id: str, claims: Mapping[str, Any]) -> None:
        """RFC 7523 §3 item 7: a jti is accepted once, on every instance, until it expires."""
        ttl = max(float(claims["exp"]) - self._provider.now() + LEEWAY, 1)
        lifecycle = self._provider.lifecycle
        if not await lifecycle.first_use_of_assertion(client_id, claims["jti"], ttl):
            raise _refused("client_assertion has already been used")
