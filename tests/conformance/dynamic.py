"""Dynamic registration as the conformance suite's client does it (OpenID Connect Dynamic
Client Registration 1.0): register, check the answer, and authenticate at the token endpoint
with private_key_jwt using the client's own RSA keys, published in `jwks` or at a `jwks_uri`
on the relying party's loopback server."""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from tests.conformance.flow import Flow, finish_flow
from tests.conformance.harness import CODE, REDIRECT_URI, Assertion, Conformance

ASSERTION_LIFETIME = 60
#: A key a client signs with: its own public-key pair, or its secret (client_secret_jwt).
ClientKey = RSAKey | ECKey | OKPKey | OctKey


def new_key() -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    return key


def public_jwks(*keys: ClientKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


@dataclass
class DynamicClient:
    """A registered client: what the registration endpoint answered, and its signing key
    and the algorithm of its client assertions."""

    registration: dict[str, Any]
    key: ClientKey = field(default_factory=new_key)
    alg: str = "RS256"

    @property
    def id(self) -> str:
        return str(self.registration["client_id"])

    @property
    def credentials(self) -> tuple[str, str]:
        return self.id, str(self.registration.get("client_secret", ""))

    def assertion_for(self, conf: Conformance, audience: str | None = None) -> str:
        """A private_key_jwt client assertion (RFC 7523 §3), by default for the token endpoint."""
        now = int(conf.clock())
        claims = {
            "iss": self.id,
            "sub": self.id,
            "aud": audience or conf.meta["token_endpoint"],
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        return sign(claims, self.key, self.alg)

    def assertion(self, conf: Conformance) -> Assertion:
        return lambda: self.assertion_for(conf)


def sign(claims: dict[str, Any], key: ClientKey, alg: str) -> str:
    """A JWT the client signs; its header names the key when it has a kid."""
    header = {"alg": alg, **({"kid": key.kid} if key.kid else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc flags EdDSA as deprecated
        return jwt.encode(header, claims, key, algorithms=[alg])


def registration_request(**metadata: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "client_name": "Conformance dynamic client",
        "application_type": "native",  # its redirect URI is http on loopback
        "redirect_uris": [REDIRECT_URI],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    }
    request.update(metadata)
    return {name: value for name, value in request.items() if value is not None}


def register(conf: Conformance, **metadata: Any) -> httpx.Response:
    return httpx.post(conf.meta["registration_endpoint"], json=registration_request(**metadata))


def registered(conf: Conformance, key: ClientKey | None = None, **metadata: Any) -> DynamicClient:
    """Register and check the answer as the suite does (RFC 7591 §3.2.1)."""
    response = register(conf, **metadata)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert "no-store" in response.headers.get("cache-control", "")
    body = response.json()
    assert isinstance(body["client_id"], str)
    assert body["client_id"]
    if "client_secret" in body:
        assert isinstance(body["client_secret_expires_at"], int)
    for name in ("redirect_uris", "response_types", "grant_types"):
        assert body[name] == registration_request(**metadata)[name]
    return DynamicClient(body, key or new_key())


def registered_with_keys(conf: Conformance, **metadata: Any) -> DynamicClient:
    """A private_key_jwt client with its public key in `jwks` (the suite's default)."""
    key = new_key()
    return registered(
        conf, key, token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key), **metadata
    )


def client_flow(
    conf: Conformance,
    browser: httpx.Client,
    client: DynamicClient,
    *,
    expect_login: bool | None = None,
    **changes: str,
) -> Flow:
    """A code flow of a dynamic client (consent included), private_key_jwt at the token
    endpoint when it registered keys, else its secret."""
    assertion = client.assertion(conf) if "client_secret" not in client.registration else None
    params = conf.request(CODE, client_id=client.id, **changes)
    response = conf.authorize(browser, params, expect_login=expect_login)
    return finish_flow(conf, CODE, params, response, client=client.credentials, assertion=assertion)
