"""The discovery document: exactly what this provider implements, serialised once."""

from __future__ import annotations

import json
from typing import Any

from konnect.keys import ALL_ALGORITHMS, HMAC_ALGORITHMS
from konnect.oidc.authorize import RESPONSE_MODES, RESPONSE_TYPES
from konnect.oidc.claims import SCOPE_CLAIMS
from konnect.oidc.provider import Provider
from konnect.oidc.scopes import OPENID

#: Claims of every ID token (or of some, like auth_time); the scopes add theirs.
ID_TOKEN_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "sid",
    "at_hash",
    "c_hash",
)


#: Client authentication at the token, revocation and introspection endpoints (Core §9).
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]
#: Algorithms of client assertions: HMAC for client_secret_jwt, the rest for private_key_jwt.
AUTH_SIGNING_ALGS = [*HMAC_ALGORITHMS, *ALL_ALGORITHMS]


def discovery_document(provider: Provider) -> dict[str, Any]:
    endpoints = provider.endpoints
    document = _document(provider)
    if provider.clients.dynamic is not None:
        document["registration_endpoint"] = endpoints.url(endpoints.registration)
    return document


def _document(provider: Provider) -> dict[str, Any]:
    endpoints = provider.endpoints
    return {
        "issuer": provider.issuer,
        "authorization_endpoint": endpoints.url(endpoints.authorize),
        "token_endpoint": endpoints.url(endpoints.token),
        "userinfo_endpoint": endpoints.url(endpoints.userinfo),
        "end_session_endpoint": endpoints.url(endpoints.endsession),
        "revocation_endpoint": endpoints.url(endpoints.revocation),
        "revocation_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
        "introspection_endpoint": endpoints.url(endpoints.introspection),
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
        "check_session_iframe": endpoints.url(endpoints.check_session),
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "jwks_uri": endpoints.url(endpoints.jwks),
        "scopes_supported": list(dict.fromkeys([OPENID, *provider.scopes.supported])),
        "response_types_supported": list(RESPONSE_TYPES),
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(provider.keys.signing_algorithms),
        "userinfo_signing_alg_values_supported": list(provider.keys.signing_algorithms),
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "token_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": _claims_supported(provider),
        "acr_values_supported": list(provider.acr.supported),
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": [*ALL_ALGORITHMS, "none"],
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "authorization_response_iss_parameter_supported": True,
    }


def _claims_supported(provider: Provider) -> list[str]:
    """The ID token's claims and those of the scopes this provider supports."""
    scoped = [name for scope in provider.scopes.supported for name in SCOPE_CLAIMS.get(scope, ())]
    return list(dict.fromkeys([*ID_TOKEN_CLAIMS, *scoped]))


def discovery_bytes(provider: Provider) -> bytes:
    return json.dumps(discovery_document(provider), indent=2).encode() + b"\n"
