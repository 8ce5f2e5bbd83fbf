"""Request objects (OpenID Connect Core §6, `request=` and `request_uri=`): verified with the
client's own keys.

A `request_uri` is fetched only when the client registered it in `request_uris` (compared
without the fragment, which only names a version of the content), so an authorization
request can never make konnect call an arbitrary URL.

A signed object must use the client's registered `request_object_signing_alg` and one of its
registered keys (`jwks` or `jwks_uri`). An unsigned one (`alg: none`, which discovery lists) is
accepted unless the client registered a signing alg (OpenID Connect Registration §2: without
one, any advertised alg may be used); it adds nothing a query could not carry, so it never
names a guest or carries passthru claims. Its parameters replace the query's, except that
`client_id`, `response_type` and `redirect_uri` must agree with the verified request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from konnect.clients import ClientRegistration
from konnect.keys import InvalidToken, decode_unsecured, decode_unverified_header
from konnect.oidc.client_keys import KeysUnavailable, verify_signed_by_client
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.outgoing import REQUEST_URI, FetchError

# Parameters an object may carry and that then replace the query's.
MERGED = (
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "id_token_hint",
    "login_hint",
    "claims",
    "code_challenge",
    "code_challenge_method",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "display",
    "response_mode",
)
# Parameters that must equal the (already verified) query value when present.
PINNED = ("client_id", "response_type", "redirect_uri")


def _invalid(description: str) -> OAuthError:
    return OAuthError("invalid_request_object", description)


async def verified_claims(
    provider: Provider, token: str, client: ClientRegistration
) -> tuple[dict[str, Any], bool]:
    """The object's claims, and whether it was signed (only signed objects carry passthru)."""
    now = provider.now()
    try:
        alg = decode_unverified_header(token).get("alg")
        if alg == "none":
            if client.request_object_signing_alg not in (None, "none"):
                raise _invalid("this client registered signed request objects")
            return decode_unsecured(token, now=now), False
        if not client.has_public_keys:
            raise _invalid("no keys are registered for this client")
        claims = await verify_signed_by_client(
            provider, token, client, client.request_object_signing_alg, now=now
        )
    except InvalidToken as exc:
        raise _invalid(f"request object refused: {exc}") from None
    except KeysUnavailable as exc:
        raise _invalid(str(exc)) from None
    _check_issuer_and_audience(claims, client, provider.issuer)
    return claims, True


def _check_issuer_and_audience(
    claims: Mapping[str, Any], client: ClientRegistration, issuer: str
) -> None:
    """When a request object names its issuer and audience (RFC 9101 §4), they must fit."""
    if "iss" in claims and claims["iss"] != client.id:
        raise _invalid("request object iss must be the client_id")
    audience = claims.get("aud")
    if audience is not None:
        audiences = audience if isinstance(audience, list) else [audience]
        if issuer not in audiences:
            raise _invalid("request object aud must name this provider")


def _as_parameter(name: str, value: Any) -> str:
    if name == "claims" and isinstance(value, dict):
        return json.dumps(value)
    if name == "max_age" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # Konnect only took strings here; numbers are what RFC 9101 sends
    if not isinstance(value, str):
        raise _invalid(f"request object member '{name}' has the wrong type")
    return value


def merge(params: Mapping[str, str], claims: Mapping[str, Any]) -> dict[str, str]:
    """The authorization parameters with the object's members applied."""
    for name in PINNED:
        if name in claims and claims[name] != params.get(name):
            raise _invalid(f"request object {name} differs from the request")
    merged = {key: value for key, value in params.items() if key != "request"}
    for name in MERGED:
        if name in claims:
            merged[name] = _as_parameter(name, claims[name])
    return merged


async def fetched_request(provider: Provider, params: Mapping[str, str]) -> Mapping[str, str]:
    """The parameters with a `request_uri` replaced by the request object it points to."""
    request_uri = params.get("request_uri")
    if request_uri is None:
        return params
    if "request" in params:
        raise OAuthError("invalid_request", "use either request or request_uri")
    client = provider.clients.get(params.get("client_id", ""))
    address = request_uri.split("#", 1)[0]
    if client is None or address not in (uri.split("#", 1)[0] for uri in client.request_uris):
        raise OAuthError("invalid_request_uri", "request_uri is not registered for this client")
    try:
        body = await provider.http.get_bytes(address, REQUEST_URI, public_only=client.dynamic)
        token = body.decode("ascii").strip()
    except (FetchError, UnicodeDecodeError) as exc:
        provider.log.warning("request object of client %s unavailable: %s", client.id, exc)
        raise OAuthError("invalid_request_uri", "the request_uri could not be read") from None
    remaining = {key: value for key, value in params.items() if key != "request_uri"}
    return {**remaining, "request": token}
