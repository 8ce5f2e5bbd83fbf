"""Random identifiers for codes, token ids, session ids and salts."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    """A random string of ASCII letters and digits (URL and cookie safe)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
