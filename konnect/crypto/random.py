"""Random identifiers for codes, token ids, session ids and salts."""

from __future__ import annotations

import secrets


def random_string(length: int) -> str:
    """A random URL- and cookie-safe string (base64url alphabet) of the given length."""
    return secrets.token_urlsafe(length)[:length]
