"""Outgoing HTTP: the one client through which konnect reaches other servers (client JWK
sets, request objects, sector identifiers, back-channel logout, the cookie backend), with a
deadline, bounded raw answers and, for URLs someone else chose, an address policy.

May import: config.
"""

from konnect.outgoing.client import (
    BACKCHANNEL_LOGOUT,
    CALLER_GONE,
    JWKS,
    REQUEST_URI,
    SECTOR_IDENTIFIER,
    Answer,
    DocumentCache,
    FetchError,
    Outgoing,
    Purpose,
)

__all__ = [
    "BACKCHANNEL_LOGOUT",
    "CALLER_GONE",
    "JWKS",
    "REQUEST_URI",
    "SECTOR_IDENTIFIER",
    "Answer",
    "DocumentCache",
    "FetchError",
    "Outgoing",
    "Purpose",
]
