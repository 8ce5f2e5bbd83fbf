"""Recovery codes: ten single-use codes, shown once, for a user without their device.

A code is ten characters from an alphabet without look-alikes (about 49 bits), shown as two
groups of five; typing ignores case, spaces and hyphens.
"""

from __future__ import annotations

import secrets

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 10


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh codes as shown to the user (`xxxxx-xxxxx`)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(typed: str) -> str | None:
    """The code as hashed, or None when it cannot be a recovery code."""
    code = "".join(char for char in typed.lower() if char not in " -\t")
    if len(code) != _LENGTH or any(char not in _ALPHABET for char in code):
        return None
    return code
