"""Key files: signing keys and validation keys from PEM or JWK files, with Konnect's kid rules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konnect.config.errors import ConfigError
from konnect.keys.jwt import (
    ALGORITHM_BY_CURVE,
    Family,
    PrivateKey,
    PublicKey,
    family_of,
    jwk_members,
    key_from_jwk,
)

_MIN_RSA_EXPONENT = 65537
MIN_RSA_BITS = 2048
_KEY_SUFFIXES = (".pem", ".json")


class KeyLoadError(Exception):
    """A key file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class SigningKey:
    """A private key usable for signing, published and accepted under `kid` (and `aliases`)."""

    kid: str
    private_key: PrivateKey
    family: Family
    #: further kids of the same key: the key's own kid when --signing-kid renamed it, so
    #: tokens issued under either name keep verifying.
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if family_of(self.private_key) != self.family:
            raise ValueError(f"key {self.kid!r} is not an {self.family} key")

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True)
class PublicKeyEntry:
    """A public key accepted for validation and published in the JWKS under `kid`."""

    kid: str
    public_key: PublicKey
    family: Family


def load_signing_keys(paths: Sequence[Path], signing_kid: str | None) -> list[SigningKey]:
    """Signing keys in the given order; every unusable file is reported in one ConfigError.

    kid: `signing_kid` for the first key, else the JWK's kid, else the file name without
    extension after following symlinks. Keys with a kid already taken are skipped.
    """
    problems: list[str] = []
    keys: list[SigningKey] = []
    taken: set[str] = set()
    for index, path in enumerate(paths):
        try:
            private_key, own_kid = _load_private(path)
        except KeyLoadError as error:
            problems.append(f"signing private key {error}")
            continue
        own_kid = own_kid or path.resolve().stem
        kid = signing_kid if index == 0 and signing_kid else own_kid
        if kid in taken:
            continue
        aliases = tuple(name for name in (own_kid,) if name != kid and name not in taken)
        taken.update((kid, *aliases))
        keys.append(SigningKey(kid, private_key, family_of(private_key), aliases))
    if problems:
        raise ConfigError(problems)
    return keys


def load_validation_keys(directory: Path) -> tuple[list[PublicKeyEntry], list[str]]:
    """Every *.pem and *.json key in a folder, by file name; unusable files become warnings.

    kid: the JWK's kid, else the file name without extension (a symlink's own name).
    """
    if not directory.is_dir():
        raise ConfigError([f"validation keys path {directory}: not a directory"])
    entries: list[PublicKeyEntry] = []
    warnings: list[str] = []
    taken: set[str] = set()
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in _KEY_SUFFIXES:
            continue
        try:
            public_key, jwk_kid = _load_public(path)
        except KeyLoadError as error:
            warnings.append(f"validation key skipped: {error}")
            continue
        kid = jwk_kid or path.stem
        if kid in taken:
            warnings.append(f"validation key skipped: {path}: kid {kid!r} is already in use")
            continue
        taken.add(kid)
        entries.append(PublicKeyEntry(kid, public_key, family_of(public_key)))
    return entries, warnings


_CURVE_BY_ALGORITHM: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


def generate_signing_key(kid: str = "default", alg: str = "PS256") -> SigningKey:
    """A random key that can sign with `alg`, for a start without configured keys:
    RSA 2048 for RS*/PS*, the alg's curve for ES*, Ed25519 for EdDSA."""
    key: PrivateKey
    if alg in _CURVE_BY_ALGORITHM:
        key = ec.generate_private_key(_CURVE_BY_ALGORITHM[alg])
    elif alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif alg[:2] in ("RS", "PS"):
        key = rsa.generate_private_key(public_exponent=_MIN_RSA_EXPONENT, key_size=MIN_RSA_BITS)
    else:
        raise ValueError(f"no key can be generated for {alg!r}")
    return SigningKey(kid, key, family_of(key))


def jwk_from_pem(path: Path, *, kid: str | None = None, use: str | None = "sig") -> dict[str, Any]:
    """The JWK of a key file, members sorted: private members for a private key.

    kid: the argument, else the JWK's kid, else the file name without extension.
    """
    data = _read(path)
    key: PrivateKey | PublicKey
    if _is_jwk_file(path):
        key, jwk_kid = _jwk_key(path, data)
    else:
        key, jwk_kid = _pem_key(path, data), None
    _check_supported(path, key)
    jwk = jwk_members(key, private=isinstance(key, PrivateKey))
    jwk["kid"] = kid or jwk_kid or path.stem
    if use:
        jwk["use"] = use
    return dict(sorted(jwk.items()))


# --- file parsing ---------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    if path.is_dir():
        raise KeyLoadError(f"{path}: is a directory, not a key file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyLoadError(f"{path}: no such file") from None
    except OSError as error:
        raise KeyLoadError(f"{path}: cannot be read ({error.strerror})") from None


def _is_jwk_file(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def _load_private(path: Path) -> tuple[PrivateKey, str | None]:
    """A private key from a JWK or PEM (PKCS#1, PKCS#8, SEC1) file, and the JWK's kid."""
    data = _read(path)
    if _is_jwk_file(path):
        key, kid = _jwk_key(path, data)
        if not isinstance(key, PrivateKey):
            raise KeyLoadError(f"{path}: the JWK has no private part")
    else:
        key, kid = _pem_private(path, data), None
    _check_supported(path, key)
    return key, kid


def _load_public(path: Path) -> tuple[PublicKey, str | None]:
    """The public key of any supported JWK or PEM file, and the JWK's kid."""
    data = _read(path)
    if _is_jwk_file(path):
        key, kid = _jwk_key(path, data)
    else:
        key, kid = _pem_key(path, data), None
    _check_supported(path, key)
    return (key.public_key() if isinstance(key, PrivateKey) else key), kid


def _jwk_key(path: Path, data: bytes) -> tuple[PrivateKey | PublicKey, str | None]:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise KeyLoadError(f"{path}: not valid JSON") from None
    if not isinstance(document, dict):
        raise KeyLoadError(f"{path}: not a JWK (a JSON object is expected)")
    try:
        key = key_from_jwk(document)
    except ValueError as error:
        raise KeyLoadError(f"{path}: {error}") from None
    kid = document.get("kid")
    return key, (kid if isinstance(kid, str) and kid else None)


def _pem_private(path: Path, data: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyLoadError(f"{path}: encrypted private keys are not supported") from None
    except ValueError:
        raise KeyLoadError(f"{path}: not a PEM private key (PKCS#1, PKCS#8 or SEC1)") from None
    if not isinstance(key, PrivateKey):
        raise KeyLoadError(f"{path}: not an RSA, EC or Ed25519 key")
    return key


def _pem_key(path: Path, data: bytes) -> PrivateKey | PublicKey:
    """A PEM public key (PKIX or PKCS#1) or, failing that, a PEM private key."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        return _pem_private(path, data)
    if not isinstance(key, PublicKey):
        raise KeyLoadError(f"{path}: not an RSA, EC or Ed25519 key")
    return key


def _check_supported(path: Path, key: PrivateKey | PublicKey) -> None:
    public = key.public_key() if isinstance(key, PrivateKey) else key
    if isinstance(public, rsa.RSAPublicKey) and public.public_numbers().e < _MIN_RSA_EXPONENT:
        raise KeyLoadError(f"{path}: RSA public exponent below {_MIN_RSA_EXPONENT}")
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise KeyLoadError(f"{path}: RSA key of {public.key_size} bits, {MIN_RSA_BITS} are needed")
    if (
        isinstance(public, ec.EllipticCurvePublicKey)
        and public.curve.name not in ALGORITHM_BY_CURVE
    ):
        raise KeyLoadError(f"{path}: EC curve {public.curve.name} is not supported")
