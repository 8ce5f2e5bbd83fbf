"""The provider's key set: signers per algorithm, the validation keys by kid, and the JWKS."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from konnect.config.errors import ConfigError
from konnect.keys.jwt import (
    ALL_ALGORITHMS,
    InvalidToken,
    JwsSigner,
    JwsVerifier,
    PublicKey,
    UnsupportedAlgorithm,
    algorithms_for,
    check_time_claims,
    decode_unverified_header,
    jwk_members,
)
from konnect.keys.loading import PublicKeyEntry, SigningKey

DEFAULT_KID = "default"
#: Verified tokens remembered, so a relying party asking userinfo again and again with the
#: same access token (Nextcloud can, on every page) costs one signature check, not many.
VERIFIED_CACHE_SIZE = 4096
_MAX_CACHED_TOKEN = 8192


class KeySet:
    """Signs the provider's JWTs, verifies them, and publishes the public keys.

    The active signer is the first signing key (in the given order) that can produce
    `signing_method`; any other algorithm is produced by the first key that can. The
    validation set holds every signing key under its kid(s), the alias "default" for the
    active signer, and the validation keys; the JWKS lists exactly that set.
    """

    def __init__(
        self,
        signing_keys: Sequence[SigningKey],
        validation_keys: Sequence[PublicKeyEntry],
        signing_method: str,
    ) -> None:
        self.signing_method = signing_method
        self.warnings: list[str] = []
        self._signers = _signers_by_algorithm(signing_keys)
        active = self._signers.get(signing_method)
        if active is None:
            raise ConfigError([_no_signer_problem(signing_method, signing_keys)])
        self.active_kid = active.kid
        self.signing_algorithms = [alg for alg in ALL_ALGORITHMS if alg in self._signers]
        if not any(key.family == "RSA" for key in signing_keys):
            self.warnings.append("no RSA signing key loaded: some clients might not be compatible")
        published = self._validation_set(signing_keys, validation_keys)
        #: every published public key by kid: the signing keys, "default" and validation keys
        self.public_keys: Mapping[str, PublicKey] = MappingProxyType(published)
        self._verifiers = {kid: JwsVerifier(key) for kid, key in published.items()}
        document = {"keys": [_public_jwk(kid, key) for kid, key in published.items()]}
        self.jwks_json = json.dumps(document, separators=(",", ":")).encode()
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _validation_set(
        self, signing_keys: Sequence[SigningKey], validation_keys: Sequence[PublicKeyEntry]
    ) -> dict[str, PublicKey]:
        published: dict[str, PublicKey] = {}
        for signing_key in signing_keys:
            for kid in (signing_key.kid, *signing_key.aliases):
                published.setdefault(kid, signing_key.public_key)
        active_key = next(key for key in signing_keys if key.kid == self.active_kid)
        if DEFAULT_KID not in published:
            published[DEFAULT_KID] = active_key.public_key
        elif self.active_kid != DEFAULT_KID:
            self.warnings.append(f"kid {DEFAULT_KID!r} names a key that is not the active signer")
        for entry in validation_keys:
            if entry.kid in published:
                self.warnings.append(
                    f"validation key {entry.kid!r} skipped: its kid is used by a signing key"
                )
                continue
            published[entry.kid] = entry.public_key
        return published

    def signing_alg_for(self, alg: str | None) -> str:
        """The algorithm a token will be signed with: `alg`, or the signing method for None."""
        resolved = self.signing_method if alg is None else alg
        if resolved not in self._signers:
            raise UnsupportedAlgorithm(f"no signing key can produce {resolved}")
        return resolved

    def sign(self, claims: Mapping[str, Any], alg: str | None = None, typ: str = "JWT") -> str:
        """A compact JWS of the claims; header {"alg", "kid", "typ"}."""
        signer = self._signers.get(self.signing_method if alg is None else alg)
        if signer is None:
            raise UnsupportedAlgorithm(f"no signing key can produce {alg}")
        return signer.sign(claims, typ)

    def verify(
        self, token: str, *, now: int | None = None, check_exp: bool = True
    ) -> dict[str, Any]:
        """The claims of a JWT issued with one of our keys; InvalidToken on any problem.

        The signature of a token seen recently is not checked again (the keys never change
        while the process runs); its times are, every time.
        """
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = self._verified_signature(token)
            self._remember(token, claims)
        else:
            self._verified.move_to_end(token)
        check_time_claims(claims, now, check_exp=check_exp)
        return dict(claims)

    def _verified_signature(self, token: str) -> dict[str, Any]:
        header = decode_unverified_header(token)
        alg = header["alg"]
        if alg not in ALL_ALGORITHMS:
            raise InvalidToken("unsupported algorithm")
        kid = header.get("kid")
        verifier = self._verifiers.get(kid) if isinstance(kid, str) else None
        if verifier is None:
            raise InvalidToken("unknown key")
        return verifier.verify(token, alg)

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        if len(token) > _MAX_CACHED_TOKEN:
            return
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)


def _signers_by_algorithm(signing_keys: Sequence[SigningKey]) -> dict[str, JwsSigner]:
    signers: dict[str, JwsSigner] = {}
    for key in signing_keys:
        for alg in algorithms_for(key.private_key):
            if alg not in signers:
                signers[alg] = JwsSigner(key.private_key, key.kid, alg)
    return signers


def _no_signer_problem(signing_method: str, signing_keys: Sequence[SigningKey]) -> str:
    if signing_method not in ALL_ALGORITHMS:
        known = ", ".join(ALL_ALGORITHMS)
        return f"signing method {signing_method!r} is not supported (one of {known})"
    if not signing_keys:
        return "no signing key is loaded"
    return f"signing method {signing_method}: no signing key can produce it"


def _public_jwk(kid: str, key: PublicKey) -> dict[str, Any]:
    return {**jwk_members(key), "kid": kid, "use": "sig"}
