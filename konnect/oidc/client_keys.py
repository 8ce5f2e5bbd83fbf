"""A client's registered public keys: its inline `jwks`, or the JWK set at its `jwks_uri`.

Used for everything a client signs: `private_key_jwt` assertions and request objects. Keys
from a `jwks_uri` are cached; an unknown key or a bad signature fetches the set once more
(the client may have rotated its key), at most once a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from konnect.clients import ClientRegistration
from konnect.keys import InvalidToken, verify_with_client_keys
from konnect.oidc.provider import Provider
from konnect.outgoing import FetchError

#: One text for every failure, so answers do not tell what the jwks_uri's server said.
UNAVAILABLE = "the client's jwks_uri could not be read"


class KeysUnavailable(Exception):
    """The client's jwks_uri could not be read or holds no JWK set; safe to show."""


async def verify_signed_by_client(
    provider: Provider,
    token: str,
    client: ClientRegistration,
    alg: str | None,
    **checks: Any,
) -> dict[str, Any]:
    """The claims of `token` verified with the client's keys; InvalidToken or KeysUnavailable."""
    if client.jwks is not None or not client.jwks_uri:
        return verify_with_client_keys(token, client.jwks or {}, alg, **checks)
    jwks = await _fetch(provider, client)
    try:
        return verify_with_client_keys(token, jwks, alg, **checks)
    except InvalidToken as exc:
        # A single key is used whatever the kid (as Konnect does), so a key the client has
        # rotated shows up as a bad signature rather than as an unknown kid.
        if exc.reason not in ("unknown key", "invalid signature"):
            raise
    jwks = await _fetch(provider, client, refresh=True)
    return verify_with_client_keys(token, jwks, alg, **checks)


async def _fetch(
    provider: Provider, client: ClientRegistration, *, refresh: bool = False
) -> Mapping[str, Any]:
    """The JWK set at the client's jwks_uri; only public addresses for a dynamic client."""
    try:
        document = await provider.http.documents.get(
            client.jwks_uri, public_only=client.dynamic, refresh=refresh
        )
    except FetchError as exc:
        provider.log.warning("client keys unavailable: %s", exc)
        raise KeysUnavailable(UNAVAILABLE) from None
    if not isinstance(document, dict):
        provider.log.warning("client keys unavailable: %s holds no JWK set", client.jwks_uri)
        raise KeysUnavailable(UNAVAILABLE) from None
    return document
