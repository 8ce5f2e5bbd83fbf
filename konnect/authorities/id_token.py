"""The check of an upstream ID token (OpenID Connect Core §3.1.3.7): signature with the
upstream's keys (no "none", no HMAC), `iss`, `aud`, `azp`, `nonce`, and `exp`/`iat`/`nbf`
with a small leeway. Konnect checked only the signature and the times."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from konnect.authorities.config import AuthoritySettings
from konnect.keys import InvalidToken, decode_unverified_header, verify_with_client_keys

#: Seconds of clock difference tolerated between konnect and the upstream.
LEEWAY = 60


def verified_claims(
    token: str,
    jwks: Mapping[str, Any],
    settings: AuthoritySettings,
    nonce: str,
    now: int,
) -> dict[str, Any]:
    """The ID token's claims; InvalidToken names the failed check (for the log only)."""
    claims = verify_with_client_keys(token, jwks, None, now=now, require_exp=True, leeway=LEEWAY)
    if claims.get("iss") != settings.iss:
        raise InvalidToken("issued by another provider")
    audiences = audiences_of(claims.get("aud"))
    if settings.client_id not in audiences:
        raise InvalidToken("issued for another client")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != settings.client_id:
        raise InvalidToken("authorized party is another client")
    if not isinstance(claims.get("iat"), int):
        raise InvalidToken("no iat")
    received = claims.get("nonce")
    if not isinstance(received, str) or not hmac.compare_digest(received, nonce):
        raise InvalidToken("nonce does not match this sign-in")
    return claims


def key_id(token: str) -> object:
    """The kid the token names (None when it names none or is malformed)."""
    try:
        return decode_unverified_header(token).get("kid")
    except InvalidToken:
        return None


def audiences_of(aud: object) -> list[str]:
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [item for item in aud if isinstance(item, str)]
    return []
