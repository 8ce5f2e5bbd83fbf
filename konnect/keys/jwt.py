"""JOSE for the whole code base: JWK conversion, compact JWS signing and JWT verification.

This is the only module that imports joserfc. Signing is done with `cryptography` directly
(it is the hot path of every token); verification goes through joserfc.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry, deserialize_compact

from konnect.strict_json import parse_json

Family = Literal["RSA", "EC", "OKP"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
JoseKey = RSAKey | ECKey | OKPKey

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = ("ES256", "ES384", "ES512")
OKP_ALGORITHMS = ("EdDSA",)
#: Only for client assertions signed with the client's secret (client_secret_jwt).
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ALGORITHMS_BY_FAMILY: dict[Family, tuple[str, ...]] = {
    "RSA": RSA_ALGORITHMS,
    "EC": EC_ALGORITHMS,
    "OKP": OKP_ALGORITHMS,
}
#: An EC key can only produce the algorithm of its own curve.
ALGORITHM_BY_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
ALL_ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS + OKP_ALGORITHMS

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_COMPACT = (",", ":")
#: Claims as JSON (json.dumps with these options would build an encoder on every call).
_CLAIMS_JSON = json.JSONEncoder(separators=_COMPACT, allow_nan=False)
_MAX_TOKEN_LENGTH = 128 * 1024
_MAX_HEADER_LENGTH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class InvalidToken(Exception):
    """A JWT that must not be trusted; the message is a short reason safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedAlgorithm(Exception):
    """No loaded key can produce (or the code base does not know) the requested algorithm."""


def family_of(key: PrivateKey | PublicKey) -> Family:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "EC"
    return "OKP"


def algorithms_for(key: PrivateKey | PublicKey) -> tuple[str, ...]:
    """The JWS algorithms a key can produce or verify (EC: only its own curve's)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        alg = ALGORITHM_BY_CURVE.get(key.curve.name)
        return (alg,) if alg else ()
    return ALGORITHMS_BY_FAMILY[family_of(key)]


def family_of_algorithm(alg: str) -> Family | None:
    for family, algorithms in ALGORITHMS_BY_FAMILY.items():
        if alg in algorithms:
            return family
    return None


# --- JWK conversion ----------------------------------------------------------------------

_JOSE_KEY_TYPES: dict[str, type[RSAKey] | type[ECKey] | type[OKPKey]] = {
    "RSA": RSAKey,
    "EC": ECKey,
    "OKP": OKPKey,
}
_IMPORT_ERRORS = (JoseError, ValueError, TypeError, KeyError, AttributeError)


def _import_jwk(document: Mapping[str, Any]) -> JoseKey:
    """A joserfc key from a JWK dict; ValueError with a short reason when unusable."""
    kty = document.get("kty")
    key_type = _JOSE_KEY_TYPES.get(kty) if isinstance(kty, str) else None
    if key_type is None:
        raise ValueError(f"JWK type {kty!r} is not supported (RSA, EC or OKP)")
    try:
        return key_type.import_key(dict(document))
    except _IMPORT_ERRORS:
        raise ValueError(f"invalid {kty} JWK") from None


def key_from_jwk(document: Mapping[str, Any]) -> PrivateKey | PublicKey:
    """The cryptography key of a JWK dict: private if it has private members, else public."""
    imported = _import_jwk(document)
    key = imported.private_key if imported.is_private else imported.public_key
    if not isinstance(key, PrivateKey | PublicKey):
        raise ValueError(f"JWK curve {document.get('crv')!r} is not supported")
    return key


def jwk_members(key: PrivateKey | PublicKey, *, private: bool = False) -> dict[str, Any]:
    """kty and the key parameters of a key (private members only when asked and present)."""
    jose_key = _JOSE_KEY_TYPES[family_of(key)].import_key(key)  # type: ignore[arg-type]
    return dict(jose_key.as_dict(private=private and jose_key.is_private))


# --- signing --------------------------------------------------------------------------------


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _signature_function(key: PrivateKey, alg: str) -> Callable[[bytes], bytes]:
    """A function that signs bytes with one key and one alg, its parameters built once."""
    if isinstance(key, rsa.RSAPrivateKey):
        digest = _HASHES[alg[2:]]()
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            if alg.startswith("PS")
            else padding.PKCS1v15()
        )
        return lambda message: key.sign(message, pad, digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _ecdsa_function(key, ec.ECDSA(_HASHES[alg[2:]]()))
    return key.sign


def _ecdsa_function(
    key: ec.EllipticCurvePrivateKey, algorithm: ec.ECDSA
) -> Callable[[bytes], bytes]:
    size = (key.curve.key_size + 7) // 8

    def sign(message: bytes) -> bytes:
        # JWS wants raw r||s of fixed width, not the DER structure cryptography returns.
        r, s = decode_dss_signature(key.sign(message, algorithm))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return sign


class JwsSigner:
    """Signs claims as a compact JWS with one key, one kid and one alg (header pre-encoded)."""

    __slots__ = ("_header", "_sign", "alg", "kid")

    def __init__(self, key: PrivateKey, kid: str, alg: str) -> None:
        if alg not in algorithms_for(key):
            raise UnsupportedAlgorithm(f"a {family_of(key)} key cannot sign {alg}")
        self.alg = alg
        self.kid = kid
        self._header = self._encoded_header("JWT")
        self._sign = _signature_function(key, alg)

    def _encoded_header(self, typ: str) -> bytes:
        header = {"alg": self.alg, "kid": self.kid, "typ": typ}
        return _b64(json.dumps(header, separators=_COMPACT).encode())

    def sign(self, claims: Mapping[str, Any], typ: str = "JWT") -> str:
        """A compact JWS; `typ` names the kind of token (e.g. `logout+jwt`)."""
        header = self._header if typ == "JWT" else self._encoded_header(typ)
        payload = _CLAIMS_JSON.encode(claims).encode()
        signing_input = header + b"." + _b64(payload)
        return (signing_input + b"." + _b64(self._sign(signing_input))).decode("ascii")


def sign_with_secret(claims: Mapping[str, Any], secret: bytes, alg: str) -> str:
    """A compact JWS made with a shared secret (HS256/384/512); header {"alg", "typ": "JWT"}."""
    if alg not in HMAC_ALGORITHMS:
        raise UnsupportedAlgorithm(f"{alg} is not a shared-secret algorithm")
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}, separators=_COMPACT).encode())
    payload = _CLAIMS_JSON.encode(claims).encode()
    signing_input = header + b"." + _b64(payload)
    mac = hmac.new(secret, signing_input, f"sha{alg[2:]}").digest()
    return (signing_input + b"." + _b64(mac)).decode("ascii")


def left_half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: base64url of the left half of the alg's hash of the ASCII value."""
    if alg == "EdDSA":
        digest = hashlib.sha512(value.encode("ascii")).digest()
    elif alg in ALL_ALGORITHMS:
        digest = hashlib.new(f"sha{alg[2:]}", value.encode("ascii")).digest()
    else:
        raise UnsupportedAlgorithm(f"unknown signing algorithm {alg!r}")
    return _b64(digest[: len(digest) // 2]).decode("ascii")


# --- verification ---------------------------------------------------------------------------


def _accepted_algorithm(name: str) -> JWSAlgModel:
    algorithm = JWSRegistry.algorithms[name]
    if name == "EdDSA":
        # joserfc warns on every EdDSA use (deprecated by RFC 9864 in favour of "Ed25519");
        # Konnect deployments and their clients use the name EdDSA, so accept it quietly.
        algorithm = copy.copy(algorithm)
        algorithm.security_warning = None
    return algorithm


class _Registry(JWSRegistry):
    """joserfc's registry limited to the asymmetric algorithms we accept."""

    algorithms = {name: _accepted_algorithm(name) for name in ALL_ALGORITHMS}


class _HmacRegistry(JWSRegistry):
    """joserfc's registry limited to HMAC, for client_secret_jwt assertions only."""

    algorithms = {name: JWSRegistry.algorithms[name] for name in HMAC_ALGORITHMS}


_OWN_REGISTRY = _Registry(algorithms=ALL_ALGORITHMS)
_HMAC_REGISTRY = _HmacRegistry(algorithms=list(HMAC_ALGORITHMS), strict_check_header=False)
# Clients may add header members of their own (e.g. "cty"); only "crit" must be understood.
_CLIENT_REGISTRY = _Registry(algorithms=ALL_ALGORITHMS, strict_check_header=False)


class JwsVerifier:
    """A public key ready to verify compact JWS: its joserfc key and the algs it accepts."""

    __slots__ = ("_jose_key", "algorithms")

    def __init__(self, key: PublicKey) -> None:
        self.algorithms = algorithms_for(key)
        self._jose_key: JoseKey = _JOSE_KEY_TYPES[family_of(key)].import_key(key)  # type: ignore[arg-type]

    def verify(self, token: str, alg: str) -> dict[str, Any]:
        """The claims of a token whose header alg is `alg`; InvalidToken on any failure."""
        if alg not in self.algorithms:
            raise InvalidToken("algorithm does not fit the key")
        return _verified_claims(token, self._jose_key, _OWN_REGISTRY)


def _verified_claims(token: str, key: JoseKey | OctKey, registry: JWSRegistry) -> dict[str, Any]:
    try:
        signed = deserialize_compact(token, key, registry=registry)
    except JoseError:
        raise InvalidToken("invalid signature") from None
    except (ValueError, TypeError):
        raise InvalidToken("malformed token") from None
    return _claims_object(signed.payload or b"")


def _claims_object(payload: bytes) -> dict[str, Any]:
    try:
        claims = parse_json(payload)
    except ValueError:
        raise InvalidToken("malformed claims") from None
    if not isinstance(claims, dict):
        raise InvalidToken("malformed claims")
    return claims


def decode_unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, checked for shape only (a string alg is required)."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(part) for part in segments):
        raise InvalidToken("malformed token")
    if len(segments[0]) > _MAX_HEADER_LENGTH:
        raise InvalidToken("malformed token")
    try:
        header = parse_json(_b64decode(segments[0]))
    except ValueError:
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise InvalidToken("malformed token")
    return header


def decode_unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS before its signature is checked: only to find out who
    claims to have signed it (e.g. a client assertion's `sub`). Never trust them."""
    decode_unverified_header(token)
    try:
        payload = _b64decode(token.split(".")[1])
    except ValueError:
        raise InvalidToken("malformed token") from None
    return _claims_object(payload)


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"invalid {name} claim")
    return value


def check_time_claims(
    claims: Mapping[str, Any],
    now: int | None = None,
    *,
    check_exp: bool = True,
    require_exp: bool = True,
    leeway: int = 0,
) -> None:
    """exp (when checked; required when asked), nbf and iat-not-in-the-future, allowing
    `leeway` seconds of clock skew (none unless asked)."""
    current = int(time.time()) if now is None else now
    exp = _numeric(claims, "exp")
    if check_exp and exp is None and require_exp:
        raise InvalidToken("token has no expiry")
    if check_exp and exp is not None and current >= exp + leeway:
        raise InvalidToken("token expired")
    nbf = _numeric(claims, "nbf")
    if nbf is not None and current + leeway < nbf:
        raise InvalidToken("token not yet valid")
    iat = _numeric(claims, "iat")
    if iat is not None and iat > current + leeway:
        raise InvalidToken("token issued in the future")


def verify_with_client_keys(
    token: str,
    jwks: Mapping[str, Any],
    alg: str | None,
    *,
    now: int | None = None,
    require_exp: bool = False,
    leeway: int = 0,
) -> dict[str, Any]:
    """The claims of a JWT signed by a client (e.g. a request object) with a key of its JWK set.

    `alg` is the client's registered algorithm (the header must match it when given); "none"
    and HMAC are refused, as are `oct` keys. With several keys the header kid picks one (no
    kid means "default"); a single key is used whatever the kid. exp, nbf and iat are checked
    when present.
    """
    header = decode_unverified_header(token)
    header_alg = header["alg"]
    if header_alg not in ALL_ALGORITHMS:
        raise InvalidToken("unsupported algorithm")
    if alg is not None and header_alg != alg:
        raise InvalidToken("algorithm mismatch")
    key = _client_key(jwks, header.get("kid"))
    claims = _verified_claims(token, key, _CLIENT_REGISTRY)
    check_time_claims(claims, now, require_exp=require_exp, leeway=leeway)
    return claims


def verify_with_client_secret(
    token: str, secret: str, alg: str | None, *, now: int | None = None, leeway: int = 0
) -> dict[str, Any]:
    """The claims of a JWT a client signed with its secret (HS256/384/512, client_secret_jwt).

    `alg` is the client's registered algorithm (the header must match it when given). RFC 7518
    §3.2: the secret must be at least as long as the hash output. exp is required.
    """
    header = decode_unverified_header(token)
    header_alg = header["alg"]
    if header_alg not in HMAC_ALGORITHMS:
        raise InvalidToken("unsupported algorithm")
    if alg is not None and header_alg != alg:
        raise InvalidToken("algorithm mismatch")
    raw_secret = secret.encode()
    if len(raw_secret) * 8 < int(header_alg[2:]):
        raise InvalidToken("the client secret is too short for this algorithm")
    key = OctKey.import_key(raw_secret)
    claims = _verified_claims(token, key, _HMAC_REGISTRY)
    check_time_claims(claims, now, leeway=leeway)
    return claims


def decode_unsecured(token: str, *, now: int | None = None) -> dict[str, Any]:
    """The claims of an unsecured JWT (alg "none", empty signature), e.g. an unsigned request
    object; exp, nbf and iat are checked when present. Whether to trust it is the caller's call.
    """
    header = decode_unverified_header(token)
    _, payload_segment, signature_segment = token.split(".")
    if header["alg"] != "none" or signature_segment:
        raise InvalidToken("not an unsecured token")
    try:
        payload = _b64decode(payload_segment)
    except ValueError:
        raise InvalidToken("malformed token") from None
    claims = _claims_object(payload)
    check_time_claims(claims, now, require_exp=False)
    return claims


def _client_key(jwks: Mapping[str, Any], kid: object) -> JoseKey:
    documents = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(documents, list):
        raise InvalidToken("no client keys registered")
    # Encryption keys never verify signatures.
    signing = [doc for doc in documents if isinstance(doc, Mapping) and doc.get("use") != "enc"]
    if not signing:
        raise InvalidToken("no client keys registered")
    chosen = signing[0] if len(signing) == 1 else _key_by_kid(signing, kid)
    if chosen.get("kty") == "oct":
        raise InvalidToken("unsupported client key")
    try:
        return _import_jwk(chosen)
    except ValueError:
        raise InvalidToken("unsupported client key") from None


def _key_by_kid(documents: list[Mapping[str, Any]], kid: object) -> Mapping[str, Any]:
    """With several keys the header kid picks one; no kid means "default" (Konnect)."""
    wanted = kid if isinstance(kid, str) and kid else "default"
    for document in documents:
        if document.get("kid") == wanted:
            return document
    raise InvalidToken("unknown key")
