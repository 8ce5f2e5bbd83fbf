"""AES-256-GCM sealing of small JSON payloads (cookies, codes, refresh tokens).

Every sealed value is bound to a purpose string through the GCM associated data, so a value
sealed as one thing (say a consent cookie) can never be opened as another (say a code).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from konnect.config.errors import ConfigError
from konnect.crypto.random import random_bytes

SECRET_SIZE = 32
_NONCE_SIZE = 12
_VERSION = b"\x01"
MAX_SEALED_LENGTH = 16 * 1024


def load_secret(path: Path | None, what: str = "encryption secret") -> tuple[bytes, bool]:
    """The 32-byte secret (`what` names it in messages), and whether it was generated for
    lack of a file."""
    if path is None:
        return secrets.token_bytes(SECRET_SIZE), True
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{what} {path}: cannot read ({exc.strerror})"]) from None
    if len(data) != SECRET_SIZE:
        raise ConfigError(
            [
                f"{what} {path}: must hold exactly {SECRET_SIZE} raw bytes, "
                f"found {len(data)} (make one with: openssl rand -out FILE {SECRET_SIZE})"
            ]
        )
    return data, False


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


class Sealer:
    """Seals and opens purpose-bound values with one AES-256-GCM key."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != SECRET_SIZE:
            raise ValueError("the sealing secret must be 32 bytes")
        self._aead = AESGCM(secret)

    def seal(self, payload: bytes, purpose: str) -> str:
        nonce = random_bytes(_NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, payload, purpose.encode())
        return _b64encode(_VERSION + nonce + sealed)

    def open(self, token: str, purpose: str) -> bytes | None:
        """The payload, or None for anything tampered, foreign, truncated or malformed."""
        if not token or len(token) > MAX_SEALED_LENGTH or not token.isascii():
            return None
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            return None
        if len(raw) < 1 + _NONCE_SIZE + 16 or raw[:1] != _VERSION:
            return None
        nonce, sealed = raw[1 : 1 + _NONCE_SIZE], raw[1 + _NONCE_SIZE :]
        try:
            return self._aead.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag:
            return None

    def seal_json(self, value: dict[str, Any], purpose: str) -> str:
        return self.seal(json.dumps(value, separators=(",", ":")).encode(), purpose)

    def open_json(self, token: str, purpose: str) -> dict[str, Any] | None:
        payload = self.open(token, purpose)
        if payload is None:
            return None
        try:
            value = json.loads(payload)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
