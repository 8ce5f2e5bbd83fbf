"""JWT helpers: left-half hashes, unverified headers, and client-signed tokens (request objects)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from konnect.keys import (
    InvalidToken,
    UnsupportedAlgorithm,
    decode_unsecured,
    decode_unverified_header,
    left_half_hash,
    verify_with_client_keys,
)

NOW = 1_700_000_000
REQUEST = {"client_id": "meet", "scope": "openid konnect/guestok", "response_type": "id_token"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- left_half_hash -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "hash_name"),
    [
        ("RS256", "sha256"),
        ("PS256", "sha256"),
        ("ES256", "sha256"),
        ("RS384", "sha384"),
        ("PS384", "sha384"),
        ("ES384", "sha384"),
        ("RS512", "sha512"),
        ("PS512", "sha512"),
        ("ES512", "sha512"),
        ("EdDSA", "sha512"),
    ],
)
def test_left_half_hash_matches_hashlib(alg: str, hash_name: str) -> None:
    value = "an-access-token.with.dots"
    digest = hashlib.new(hash_name, value.encode()).digest()
    assert left_half_hash(value, alg) == b64(digest[: len(digest) // 2])


def test_left_half_hash_published_example() -> None:
    # The at_hash / c_hash example values of OpenID Connect Core (RS256).
    assert left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256") == (
        "77QmUPtjPfzWtF2AnpK9RQ"
    )
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
    assert left_half_hash(code, "RS256") == "LDktKdoQak3Pk0cnXxCltA"


def test_left_half_hash_unknown_alg() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        left_half_hash("x", "HS256")


# --- decode_unverified_header ---------------------------------------------------------------


def test_decode_unverified_header() -> None:
    token = b64(b'{"alg":"ES256","kid":"k","typ":"JWT"}') + ".e30.c2ln"
    assert decode_unverified_header(token) == {"alg": "ES256", "kid": "k", "typ": "JWT"}


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "%%%.e30.",
        b64(b"[1]") + ".e30.",
        b64(b'{"kid":"k"}') + ".e30.",
        "é.e30.",
    ],
)
def test_decode_unverified_header_refuses_malformed(token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        decode_unverified_header(token)


# --- verify_with_client_keys ----------------------------------------------------------------


@pytest.fixture(scope="module")
def client_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def client_ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jose_key(key: Any) -> RSAKey | ECKey | OKPKey:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey.import_key(key)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return ECKey.import_key(key)
    return OKPKey.import_key(key)


def public_jwk(key: Any, kid: str | None = None, **extra: str) -> dict[str, Any]:
    document = dict(jose_key(key.public_key()).as_dict())
    return {**document, **({"kid": kid} if kid else {}), **extra}


def signed(key: Any, alg: str, claims: dict[str, Any], kid: str | None = None) -> str:
    header = {"alg": alg, **({"kid": kid} if kid else {})}
    return jwt.encode(header, claims, jose_key(key), algorithms=[alg])


def test_single_client_key_is_used_whatever_the_kid(client_ec: ec.EllipticCurvePrivateKey) -> None:
    jwks = {"keys": [public_jwk(client_ec, "registered")]}
    for kid in (None, "registered", "something-else"):
        token = signed(client_ec, "ES256", REQUEST, kid)
        assert verify_with_client_keys(token, jwks, "ES256") == REQUEST
        assert verify_with_client_keys(token, jwks, None) == REQUEST


def test_several_client_keys_are_chosen_by_kid(
    client_ec: ec.EllipticCurvePrivateKey, client_rsa: rsa.RSAPrivateKey
) -> None:
    jwks = {"keys": [public_jwk(client_rsa, "default"), public_jwk(client_ec, "ec")]}
    assert verify_with_client_keys(signed(client_ec, "ES256", REQUEST, "ec"), jwks, None) == REQUEST
    # No kid means "default".
    assert verify_with_client_keys(signed(client_rsa, "PS256", REQUEST), jwks, None) == REQUEST
    with pytest.raises(InvalidToken, match="unknown key"):
        verify_with_client_keys(signed(client_ec, "ES256", REQUEST, "other"), jwks, None)
    with pytest.raises(InvalidToken, match="invalid signature"):
        verify_with_client_keys(signed(client_ec, "ES256", REQUEST, "default"), jwks, None)


def test_client_private_jwk_and_ed25519_are_accepted() -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP384R1())
    private_jwk = {**ECKey.import_key(ec_key).as_dict(private=True), "kid": "k"}
    token = signed(ec_key, "ES384", REQUEST, "k")
    assert verify_with_client_keys(token, {"keys": [private_jwk]}, "ES384") == REQUEST
    signing_input = b64(b'{"alg":"EdDSA"}') + "." + b64(json.dumps(REQUEST).encode())
    ed_token = signing_input + "." + b64(ed_key.sign(signing_input.encode()))
    assert verify_with_client_keys(ed_token, {"keys": [public_jwk(ed_key)]}, "EdDSA") == REQUEST


def test_registered_alg_must_match(client_rsa: rsa.RSAPrivateKey) -> None:
    jwks = {"keys": [public_jwk(client_rsa)]}
    with pytest.raises(InvalidToken, match="algorithm mismatch"):
        verify_with_client_keys(signed(client_rsa, "RS256", REQUEST), jwks, "PS256")


def test_alg_must_fit_the_client_key(client_ec: ec.EllipticCurvePrivateKey) -> None:
    token = signed(client_ec, "ES256", REQUEST)
    forged = b64(b'{"alg":"RS256"}') + token[token.index(".") :]
    with pytest.raises(InvalidToken):
        verify_with_client_keys(forged, {"keys": [public_jwk(client_ec)]}, None)


def test_none_hmac_and_oct_keys_are_refused(client_ec: ec.EllipticCurvePrivateKey) -> None:
    oct_jwks = {"keys": [{"kty": "oct", "k": b64(b"shared secret of 32 bytes length")}]}
    unsigned = b64(b'{"alg":"none"}') + "." + b64(json.dumps(REQUEST).encode()) + "."
    hmac_token = b64(b'{"alg":"HS256"}') + "." + b64(json.dumps(REQUEST).encode()) + ".c2ln"
    for token in (unsigned, hmac_token):
        with pytest.raises(InvalidToken, match="unsupported algorithm"):
            verify_with_client_keys(token, oct_jwks, None)
    es_token = signed(client_ec, "ES256", REQUEST)
    with pytest.raises(InvalidToken, match="unsupported client key"):
        verify_with_client_keys(es_token, oct_jwks, None)


def test_client_key_for_encryption_is_refused(client_ec: ec.EllipticCurvePrivateKey) -> None:
    jwks = {"keys": [public_jwk(client_ec, use="enc")]}
    with pytest.raises(InvalidToken):
        verify_with_client_keys(signed(client_ec, "ES256", REQUEST), jwks, None)


@pytest.mark.parametrize(
    "jwks",
    [{}, {"keys": []}, {"keys": "no"}, {"keys": [5]}, {"keys": [{"kty": "EC", "crv": "P-256"}]}],
)
def test_missing_or_broken_client_keys(
    client_ec: ec.EllipticCurvePrivateKey, jwks: dict[str, Any]
) -> None:
    with pytest.raises(InvalidToken):
        verify_with_client_keys(signed(client_ec, "ES256", REQUEST), jwks, None)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"exp": NOW}, "token expired"),
        ({"nbf": NOW + 1}, "token not yet valid"),
        ({"iat": NOW + 1}, "token issued in the future"),
    ],
)
def test_client_token_time_claims_are_checked_when_present(
    client_ec: ec.EllipticCurvePrivateKey, extra: dict[str, int], reason: str
) -> None:
    jwks = {"keys": [public_jwk(client_ec)]}
    token = signed(client_ec, "ES256", {**REQUEST, **extra})
    with pytest.raises(InvalidToken) as caught:
        verify_with_client_keys(token, jwks, None, now=NOW)
    assert caught.value.reason == reason
    valid = signed(client_ec, "ES256", {**REQUEST, "exp": NOW + 1, "iat": NOW, "nbf": NOW})
    assert verify_with_client_keys(valid, jwks, None, now=NOW)["client_id"] == "meet"


# --- decode_unsecured -----------------------------------------------------------------------


def unsecured(claims: dict[str, Any], alg: str = "none", signature: str = "") -> str:
    header = json.dumps({"alg": alg}).encode()
    return f"{b64(header)}.{b64(json.dumps(claims).encode())}.{signature}"


def test_unsecured_token_claims() -> None:
    assert decode_unsecured(unsecured(REQUEST)) == REQUEST
    with pytest.raises(InvalidToken, match="expired"):
        decode_unsecured(unsecured({**REQUEST, "exp": NOW}), now=NOW)


@pytest.mark.parametrize(
    "token",
    [
        unsecured(REQUEST, alg="RS256"),
        unsecured(REQUEST, signature="c2ln"),
        unsecured(REQUEST).replace(".", ".[", 1),
        b64(b'{"alg":"none"}') + "." + b64(b"[1]") + ".",
        "a.b",
    ],
)
def test_unsecured_refusals(token: str) -> None:
    with pytest.raises(InvalidToken):
        decode_unsecured(token)
