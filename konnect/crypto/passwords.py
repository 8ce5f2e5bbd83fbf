"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): strong, and cheap enough that
# sign-ins are not limited by hashing. Verification follows each stored hash's own parameters.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    """An argon2id hash in the PHC string format."""
    return str(_HASHER.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False for a mismatch or an unusable hash."""
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
