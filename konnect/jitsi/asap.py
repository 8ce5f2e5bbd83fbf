"""The ASAP key server: each RSA public key of konnect as PEM, named by the SHA-256 of its kid.

Jitsi's prosody fetches `<key server>/<hex sha256 of the token's kid>.pem` and caches the key
per kid for good, so a new key needs a new kid; every published RSA key is served, which lets
tokens of an old key verify while a new one takes over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from konnect.keys import KeySet


def key_file_name(kid: str) -> str:
    return hashlib.sha256(kid.encode()).hexdigest() + ".pem"


def asap_directory(keys: KeySet) -> Mapping[str, bytes]:
    """File name -> SubjectPublicKeyInfo PEM, for every RSA key konnect signs or validates with."""
    return MappingProxyType(
        {
            key_file_name(kid): key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            for kid, key in keys.public_keys.items()
            if isinstance(key, rsa.RSAPublicKey)
        }
    )
