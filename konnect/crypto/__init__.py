"""Symmetric crypto primitives: AEAD sealing, subject and session hashes, random tokens, passwords.

May import: config. Never does I/O.
"""

from konnect.crypto.hashes import (
    browser_state,
    consent_cookie_name,
    public_subject,
    session_state,
)
from konnect.crypto.passwords import PasswordChecks, hash_password, verify_password
from konnect.crypto.random import random_string
from konnect.crypto.sealing import Sealer, load_secret

__all__ = [
    "PasswordChecks",
    "Sealer",
    "browser_state",
    "consent_cookie_name",
    "hash_password",
    "load_secret",
    "public_subject",
    "random_string",
    "session_state",
    "verify_password",
]
