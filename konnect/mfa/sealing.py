"""Sealing of factor secrets bound to their row, and keyed hashes of recovery codes.

One 32-byte MFA secret (the `--mfa-key` file, else derived from the encryption secret with
HKDF) gives two keys: AES-256-GCM for secrets, whose associated data names the row (kind,
backend, subject, id), so a sealed value copied into another row does not open; and an
HMAC key for recovery codes, bound to their account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from konnect.config.errors import ConfigError
from konnect.crypto import Sealer, load_secret
from konnect.mfa.model import Account, RowRef

_SEAL_INFO = b"konnect mfa factor sealing v1"
_HASH_INFO = b"konnect mfa recovery code hashing v1"
_MFA_FROM_ENCRYPTION_SECRET = b"konnect mfa secret from the encryption secret v1"


def derive_mfa_secret(mfa_key: Path | None, encryption_secret: Path | None) -> bytes:
    """The MFA secret: the `mfa_key` file, else one derived from the encryption secret file.

    Raises ConfigError without either: factors sealed with a random per-start secret would be
    lost on the next start.
    """
    if mfa_key is not None:
        return load_secret(mfa_key, "mfa key")[0]
    if encryption_secret is None:
        raise ConfigError(
            [
                "mfa is on but no key seals the factors: set --mfa-key FILE or "
                "--encryption-secret FILE (a random per-start secret would lose every "
                "enrolled factor on restart)"
            ]
        )
    secret, _ = load_secret(encryption_secret)
    return _expand(secret, _MFA_FROM_ENCRYPTION_SECRET)


def _expand(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _row_purpose(row: RowRef) -> str:
    # JSON keeps the four parts apart whatever characters a subject holds.
    parts = [row.kind, row.account.backend, row.account.subject, row.id]
    return "konnect-mfa-factor-v1:" + json.dumps(parts, separators=(",", ":"))


class FactorSealer:
    """Seals factor secrets to their rows and hashes recovery codes, with one MFA secret."""

    def __init__(self, mfa_secret: bytes) -> None:
        self._sealer = Sealer(_expand(mfa_secret, _SEAL_INFO))
        self._hash_key = _expand(mfa_secret, _HASH_INFO)

    def seal(self, row: RowRef, secret: bytes) -> str:
        return self._sealer.seal(secret, _row_purpose(row))

    def open(self, row: RowRef, sealed: str) -> bytes | None:
        """The secret, or None when it was sealed for another row or key, or tampered with."""
        return self._sealer.open(sealed, _row_purpose(row))

    def recovery_hash(self, account: Account, normalised_code: str) -> str:
        """The keyed hash a recovery code is stored (and looked up) as."""
        message = json.dumps([account.backend, account.subject, normalised_code])
        return hmac.new(self._hash_key, message.encode(), hashlib.sha256).hexdigest()
