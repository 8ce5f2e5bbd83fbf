"""Konnect's derived identifiers: public subjects, browser and session state, cookie names.

Each function reproduces Konnect's formula bit for bit, so relying parties keep their users
and session-management iframes keep working after a switch.
"""

from __future__ import annotations

import base64
import hashlib

_SUBJECT_KEY = b"konnect-IDToken-v1"
_BROWSER_STATE_SUFFIX = "kopano-konnect-1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_subject(raw_subject: str, manager_tag: str) -> str:
    """The hashed, URL-safe `sub` of a user: keyed BLAKE2b-512 plus the `@konnect` suffix."""
    digest = hashlib.blake2b(
        f"{raw_subject} {manager_tag}".encode(), key=_SUBJECT_KEY, digest_size=64
    ).digest()
    return _b64(digest) + "@konnect"


def browser_state(public_sub: str | None, issuer: str, salt: str = "") -> str:
    """The value of the browser-state cookie; a single space stands for "not signed in".

    A signed-in browser's state is keyed with a random salt of its session: unsalted, any site
    that knows a subject could ask the check-session iframe whether the visitor is that user.
    """
    subject = public_sub if public_sub else " "
    message = f"{subject} {issuer} {_BROWSER_STATE_SUFFIX}".encode()
    return _b64(hashlib.blake2b(message, digest_size=32, key=salt.encode()).digest())


def session_state(client_id: str, origin: str, state_of_browser: str, salt: str) -> str:
    """OpenID Connect Session Management `session_state`: hex SHA-256 plus `.salt`."""
    message = f"{client_id} {origin} {state_of_browser} {salt}".encode()
    return hashlib.sha256(message).hexdigest() + "." + salt


def consent_cookie_name(
    prefix: str, state: str, client_id: str, redirect_uri: str, ref: str, nonce: str
) -> str:
    """Name of the short-lived consent cookie, bound to the request it answers."""
    message = f"{state}h{client_id}e{redirect_uri}l{ref}o{nonce}".encode()
    return f"{prefix}KKTC-" + _b64(hashlib.blake2b(message, digest_size=32).digest())
