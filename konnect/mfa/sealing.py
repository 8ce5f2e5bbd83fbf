"""Sealing of factor secrets bound to their row, and keyed hashes of recovery codes.

One 32-byte MFA secret (the `--mfa-key` file, else derived from the encryption secret with
HKDF) gives two keys: AES-256-GCM for secrets, whose associated data names the row (kind,
backend, subject, id), so a sealed value copied into another row does not open; and an
HMAC key for recovery codes, bound to their account. During a change of key
(`mfa_previous_key`), secrets and recovery codes of the previous key still open; new ones are
sealed with the current key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from konnect.config.errors import ConfigError
from konnect.crypto import Sealer, load_secret
from konnect.mfa.model import Account, RowRef

_SEAL_INFO = b"konnect mfa factor sealing v1"
_HASH_INFO = b"konnect mfa recovery code hashing v1"
_INVITATION_INFO = b"konnect mfa enrolment invitation v1"
_INVITATION_PURPOSE = "konnect-mfa-invitation-v1"
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


def load_previous_mfa_secret(previous_key: Path | None) -> bytes | None:
    """The secret of `mfa_previous_key`, still accepted while factors move to a new key."""
    return load_secret(previous_key, "mfa previous key")[0] if previous_key else None


class FactorSealer:
    """Seals factor secrets to their rows and hashes recovery codes with one MFA secret;
    opens and looks up with the previous secret too, when one is given."""

    def __init__(self, mfa_secret: bytes, previous_secret: bytes | None = None) -> None:
        secrets = [mfa_secret] if previous_secret is None else [mfa_secret, previous_secret]
        self._sealers = [Sealer(_expand(secret, _SEAL_INFO)) for secret in secrets]
        self._hash_keys = [_expand(secret, _HASH_INFO) for secret in secrets]
        self._invitation_sealers = [Sealer(_expand(s, _INVITATION_INFO)) for s in secrets]

    def seal(self, row: RowRef, secret: bytes) -> str:
        return self._sealers[0].seal(secret, _row_purpose(row))

    def open(self, row: RowRef, sealed: str) -> bytes | None:
        """The secret, or None when it was sealed for another row or key, or tampered with."""
        for sealer in self._sealers:
            opened = sealer.open(sealed, _row_purpose(row))
            if opened is not None:
                return opened
        return None

    def opens_with_current_key(self, row: RowRef, sealed: str) -> bool:
        return self._sealers[0].open(sealed, _row_purpose(row)) is not None

    def recovery_hash(self, account: Account, normalised_code: str) -> str:
        """The keyed hash a recovery code is stored as."""
        return self.recovery_hashes(account, normalised_code)[0]

    def recovery_hashes(self, account: Account, normalised_code: str) -> list[str]:
        """The hashes a recovery code may be stored as: the current key's first."""
        message = json.dumps([account.backend, account.subject, normalised_code]).encode()
        return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in self._hash_keys]

    def seal_invitation(self, record: dict[str, Any]) -> str:
        """An enrolment invitation, sealed so that only konnect with this key opens it."""
        return self._invitation_sealers[0].seal_json(record, _INVITATION_PURPOSE)

    def open_invitation(self, token: str) -> dict[str, Any] | None:
        for sealer in self._invitation_sealers:
            record = sealer.open_json(token, _INVITATION_PURPOSE)
            if isinstance(record, dict):
                return record
        return None
