"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), with the standard library.

Authenticator apps agree on SHA-1, six digits and 30-second steps; a code of the step before
or after the current one is accepted too (clock drift). Which step a code matched is returned,
so the store can accept each step once and never an older one.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from urllib.parse import quote, urlencode

TOTP_SEED_SIZE = 20
TOTP_PERIOD = 30
TOTP_DIGITS = 6
#: Steps either side of the current one a code may belong to.
TOTP_DRIFT = 1


def new_totp_seed() -> bytes:
    """A fresh 160-bit seed (RFC 4226 §4 recommends 160 bits)."""
    return secrets.token_bytes(TOTP_SEED_SIZE)


def totp_step(now: float, period: int = TOTP_PERIOD) -> int:
    """The time step `now` falls in (RFC 6238 §4.2, T0 = 0)."""
    return int(now // period)


def hotp(seed: bytes, counter: int, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 §5.3: the dynamically truncated HMAC of the counter, as `digits` digits."""
    mac = hmac.new(seed, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_code(seed: bytes, now: float, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """The code an authenticator app shows at `now`."""
    return hotp(seed, totp_step(now), digits, digest)


def verify_totp(seed: bytes, code: str, now: float) -> int | None:
    """The step `code` belongs to (the latest, should two match), or None when it is wrong.

    Every candidate step is compared in constant time, whichever matched.
    """
    typed = "".join(code.split())
    if len(typed) != TOTP_DIGITS or not typed.isascii() or not typed.isdigit():
        return None
    current = totp_step(now)
    matched = None
    for step in range(current - TOTP_DRIFT, current + TOTP_DRIFT + 1):
        if hmac.compare_digest(hotp(seed, step).encode(), typed.encode()):
            matched = step
    return matched


def seed_text(seed: bytes) -> str:
    """The seed as authenticator apps take it typed in: base32 without padding."""
    return base64.b32encode(seed).decode("ascii").rstrip("=")


def provisioning_uri(seed: bytes, issuer: str, account: str) -> str:
    """The `otpauth://totp/` URI of Google Authenticator's key URI format, for a QR code."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode(
        {
            "secret": seed_text(seed),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
