"""Per-run keys, users file and client registry."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

from konnect.crypto import hash_password

ALGS = ("PS256", "ES256")
USERNAME = "jonas"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
REDIRECT_URI = "http://127.0.0.1:9/cb"


@dataclass(frozen=True)
class Fixtures:
    folder: Path
    password: str
    pem: dict[str, Path]
    """alg -> private key (PKCS#8 PEM) for konnect."""
    private_jwk: dict[str, Path]
    """alg -> the same private key as a JWK, for node-oidc-provider."""
    public_jwks: dict[str, Path]
    """alg -> JWKS with the public key, served by the bare starlette baseline."""
    secret: Path
    users: Path
    registry: Path


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_key(folder: Path, alg: str, pem: bytes) -> tuple[Path, Path, Path]:
    stem = alg.lower()
    pem_file = folder / f"{stem}-key.pem"
    pem_file.write_bytes(pem)
    pem_file.chmod(0o600)
    jwk = RSAKey.import_key(pem) if alg.startswith("PS") else ECKey.import_key(pem)
    kid = jwk.thumbprint()
    private = {**jwk.as_dict(private=True), "kid": kid, "alg": alg, "use": "sig"}
    public = {**jwk.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    private_file = folder / f"{stem}-private.jwk.json"
    private_file.write_text(json.dumps(private))
    public_file = folder / f"{stem}-public.jwks.json"
    public_file.write_text(json.dumps({"keys": [public]}))
    return pem_file, private_file, public_file


def users_yaml(password_hash: str) -> str:
    return f"""users:
  - username: {USERNAME}
    password_hash: "{password_hash}"
    id: "bench-0001"
    name: Jonas Brekke
    given_name: Jonas
    family_name: Brekke
    email: jonas@example.com
    email_verified: true
    groups: [staff]
"""


def registry_yaml() -> str:
    return f"""clients:
  - id: {CLIENT_ID}
    name: Benchmark Client
    secret: {CLIENT_SECRET}
    trusted: yes
    application_type: native
    redirect_uris: [{REDIRECT_URI}]
    token_endpoint_auth_method: client_secret_basic
    grant_types: [authorization_code, refresh_token, client_credentials]
    # wrk replays one refresh token: it must stay valid, as node-oidc-provider's refresh
    # tokens for confidential clients do (konnect rotates them by default).
    reusable_refresh_tokens: yes
"""


def create(folder: Path) -> Fixtures:
    """Fresh keys, secret, users file and client registry in folder."""
    keys = {
        "PS256": _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": _pem(ec.generate_private_key(ec.SECP256R1())),
    }
    pem, private_jwk, public_jwks = {}, {}, {}
    for alg, data in keys.items():
        pem[alg], private_jwk[alg], public_jwks[alg] = _write_key(folder, alg, data)
    secret = folder / "encryption-secret.key"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    password = secrets.token_urlsafe(16)
    users = folder / "users.yaml"
    users.write_text(users_yaml(hash_password(password)))
    registry = folder / "identifier-registration.yaml"
    registry.write_text(registry_yaml())
    return Fixtures(folder, password, pem, private_jwk, public_jwks, secret, users, registry)
