"""Random identifiers for codes, token ids, session ids and salts, and nonces.

The bytes come from the operating system (os.urandom), read 4 KiB at a time per thread and
each handed out once: a read per identifier is a system call that lets go of the GIL, and on
a busy server the event loop then waits for the signing threads before it runs on. A forked
child never hands out bytes its parent read.
"""

from __future__ import annotations

import base64
import os
import threading

_CHUNK = 4096
_unused = threading.local()


def _forget_after_fork() -> None:
    global _unused
    _unused = threading.local()


os.register_at_fork(after_in_child=_forget_after_fork)


def random_bytes(size: int) -> bytes:
    """`size` random bytes from the operating system, none ever handed out twice."""
    unused = _unused
    chunk: bytes = getattr(unused, "chunk", b"")
    start: int = getattr(unused, "start", 0)
    if start + size > len(chunk):
        chunk, start = os.urandom(max(_CHUNK, size)), 0
        unused.chunk = chunk
    unused.start = start + size
    return chunk[start : start + size]


def random_string(length: int) -> str:
    """A random URL- and cookie-safe string (base64url alphabet) of the given length."""
    return base64.urlsafe_b64encode(random_bytes(length)).rstrip(b"=").decode("ascii")[:length]
