"""Password hashing with argon2id (argon2-cffi), and checking on a pool of one thread per core."""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): strong, and cheap enough that
# sign-ins are not limited by hashing. Verification follows each stored hash's own parameters.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# glibc's mallopt parameter number, and the size from which blocks are mapped on their own.
_M_MMAP_THRESHOLD = -3
_MAPPED_FROM_BYTES = 1024 * 1024


def hash_password(password: str) -> str:
    """An argon2id hash in the PHC string format."""
    return str(_HASHER.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False for a mismatch or an unusable hash."""
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class PasswordChecks:
    """Checks passwords off the event loop, as many at once as there are cores.

    Each check holds a buffer of its hash's memory cost (19 MiB by default). The pool bounds
    how many exist at once; mapping such large blocks on their own makes every buffer go back
    to the system when its check ends, where glibc would otherwise keep one in each thread
    that ever checked a password.
    """

    def __init__(self, workers: int | None = None) -> None:
        return_large_blocks_to_the_system()
        self.workers = workers or available_cores()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="konnect-password")

    async def verify(self, password_hash: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, verify_password, password_hash, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def return_large_blocks_to_the_system() -> None:
    """Fix glibc's mmap threshold: by default it rises to the largest block ever freed
    (argon2's buffer), after which such blocks stay in per-thread heaps once freed."""
    if platform.libc_ver()[0] == "glibc":
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM_BYTES)
