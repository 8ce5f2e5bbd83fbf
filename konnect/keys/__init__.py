"""Keys: signing and validation key files, the key set and JWKS, JWT signing and verification.

The only package that imports joserfc or does JWS cryptography. May import: konnect.config.
"""

from __future__ import annotations

from konnect.keys.jwt import (
    ALGORITHM_BY_CURVE,
    ALGORITHMS_BY_FAMILY,
    ALL_ALGORITHMS,
    HMAC_ALGORITHMS,
    InvalidToken,
    UnsupportedAlgorithm,
    decode_unsecured,
    decode_unverified_claims,
    decode_unverified_header,
    key_from_jwk,
    left_half_hash,
    sign_with_secret,
    verify_with_client_keys,
    verify_with_client_secret,
)
from konnect.keys.keyset import KeySet
from konnect.keys.loading import (
    KeyLoadError,
    PublicKeyEntry,
    SigningKey,
    generate_signing_key,
    jwk_from_pem,
    load_signing_keys,
    load_validation_keys,
)

__all__ = [
    "ALGORITHMS_BY_FAMILY",
    "ALGORITHM_BY_CURVE",
    "ALL_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "InvalidToken",
    "KeyLoadError",
    "KeySet",
    "PublicKeyEntry",
    "SigningKey",
    "UnsupportedAlgorithm",
    "decode_unsecured",
    "decode_unverified_claims",
    "decode_unverified_header",
    "generate_signing_key",
    "jwk_from_pem",
    "key_from_jwk",
    "left_half_hash",
    "load_signing_keys",
    "load_validation_keys",
    "sign_with_secret",
    "verify_with_client_keys",
    "verify_with_client_secret",
]
