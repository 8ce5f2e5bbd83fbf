"""WebAuthn ceremonies with py_webauthn: security keys as a second factor, passkeys as a
first one (imported only when MFA is on).

A challenge is random, lives at most five minutes, travels sealed in a cookie and is claimed
once in the state store by the caller. Origins are compared exactly, the RP ID is the
issuer's host unless configured, attestation is `none`. What a credential keeps (its public
key, the account's random user handle, whether the user was verified when it was made) is
sealed to its row like a TOTP seed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from konnect.crypto import Sealer, random_string

#: How long a challenge may be answered.
CHALLENGE_MAX_AGE = 300
#: Ceremonies a challenge is for: set up a credential, a second factor, a passkey sign-in.
REGISTER = "register"
SECOND_FACTOR = "second"
PASSKEY = "passkey"
USER_HANDLE_SIZE = 32
#: RFC 8176 methods of a WebAuthn assertion: proof of possession of a key (hardware or
#: software, attestation `none` cannot tell) and a test of user presence.
WEBAUTHN_AMR = ("pop", "user")
_CHALLENGE_PURPOSE = "konnect-mfa-webauthn-challenge-v1"

log = logging.getLogger("konnect.mfa")


@dataclass(frozen=True)
class RelyingParty:
    """Who the credentials are for: the RP ID and the exact origins allowed to use them."""

    id: str
    origins: tuple[str, ...]
    name: str

    @classmethod
    def for_issuer(
        cls, issuer: str, rp_id: str = "", origins: tuple[str, ...] = ()
    ) -> RelyingParty:
        """The issuer's host and origin unless configured otherwise."""
        parts = urlsplit(issuer)
        default_origin = f"{parts.scheme}://{parts.netloc}"
        host = parts.hostname or ""
        return cls(rp_id or host, origins or (default_origin,), host)


@dataclass(frozen=True)
class Challenge:
    """A challenge on offer: for which ceremony and (but for a passkey sign-in) for which
    pending sign-in it is."""

    id: str
    ceremony: str
    pending_id: str
    value: bytes
    expires: int
    #: The account's user handle a credential being set up gets.
    user_handle: bytes = b""

    @classmethod
    def new(cls, ceremony: str, pending_id: str, now: int, user_handle: bytes = b"") -> Challenge:
        value = secrets.token_bytes(32)
        expires = now + CHALLENGE_MAX_AGE
        return cls(random_string(24), ceremony, pending_id, value, expires, user_handle)


def seal_challenge(sealer: Sealer, challenge: Challenge) -> str:
    record = {
        "id": challenge.id,
        "c": challenge.ceremony,
        "pid": challenge.pending_id,
        "v": _b64(challenge.value),
        "exp": challenge.expires,
        "uh": _b64(challenge.user_handle),
    }
    return sealer.seal_json(record, _CHALLENGE_PURPOSE)


def open_challenge(
    sealer: Sealer, token: str, ceremony: str, pending_id: str, now: int
) -> Challenge | None:
    """The challenge, unless tampered, for another ceremony or sign-in, or expired."""
    record = sealer.open_json(token, _CHALLENGE_PURPOSE)
    if record is None:
        return None
    try:
        challenge = Challenge(
            str(record["id"]),
            str(record["c"]),
            str(record["pid"]),
            _unb64(str(record["v"])),
            int(record["exp"]),
            _unb64(str(record["uh"])),
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if challenge.ceremony != ceremony or challenge.pending_id != pending_id:
        return None
    return challenge if now <= challenge.expires <= now + CHALLENGE_MAX_AGE else None


@dataclass(frozen=True)
class StoredCredential:
    """What is sealed in a credential's row."""

    public_key: bytes
    user_handle: bytes
    user_verified: bool

    def seal(self) -> bytes:
        record = {"pk": _b64(self.public_key), "uh": _b64(self.user_handle)}
        return json.dumps({**record, "uv": self.user_verified}).encode()

    @classmethod
    def unseal(cls, data: bytes) -> StoredCredential | None:
        try:
            record = json.loads(data)
            return cls(_unb64(record["pk"]), _unb64(record["uh"]), bool(record["uv"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None


@dataclass(frozen=True)
class NewCredential:
    id: str
    public_key: bytes
    sign_count: int
    user_verified: bool


@dataclass(frozen=True)
class Assertion:
    credential_id: str
    sign_count: int
    user_verified: bool
    #: The user handle the authenticator returned (b"" when it returned none).
    user_handle: bytes


def registration_options(
    rp: RelyingParty,
    challenge: Challenge,
    user_handle: bytes,
    username: str,
    display_name: str,
    existing: list[str],
) -> dict[str, Any]:
    """Options for navigator.credentials.create: a discoverable credential (a passkey)
    where the authenticator can keep one, no attestation, none the user has already."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=username,
        user_id=user_handle,
        user_display_name=display_name or username,
        challenge=challenge.value,
        timeout=CHALLENGE_MAX_AGE * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(credential_id) for credential_id in existing],
    )
    return dict(json.loads(options_to_json(options)))


def authentication_options(
    rp: RelyingParty, challenge: Challenge, allowed: list[str], verify_user: bool
) -> dict[str, Any]:
    """Options for navigator.credentials.get: the user's credentials (a second factor,
    presence is enough) or any passkey of this RP (the user must be verified)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge.value,
        timeout=CHALLENGE_MAX_AGE * 1000,
        allow_credentials=[_descriptor(credential_id) for credential_id in allowed],
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if verify_user
            else UserVerificationRequirement.DISCOURAGED
        ),
    )
    return dict(json.loads(options_to_json(options)))


def verify_registration(
    rp: RelyingParty, credential: dict[str, Any], challenge: Challenge
) -> NewCredential | None:
    """The new credential, or None when the response does not answer this challenge for
    this RP and origin (or is malformed)."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.value,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        log.info("webauthn registration refused: %s", exc)
        return None
    return NewCredential(
        _b64(verified.credential_id),
        verified.credential_public_key,
        verified.sign_count,
        verified.user_verified,
    )


def credential_id_of(credential: dict[str, Any]) -> str | None:
    """The credential id an assertion names (base64url, as it is stored)."""
    raw = credential.get("rawId", credential.get("id"))
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return _b64(_unb64(raw))
    except (ValueError, binascii.Error):
        return None


def verify_assertion(
    rp: RelyingParty,
    credential: dict[str, Any],
    challenge: Challenge,
    public_key: bytes,
    verify_user: bool,
) -> Assertion | None:
    """The assertion, or None when its signature, challenge, RP ID hash, origin or flags
    do not hold. The signature counter is left to the caller (one conditional update)."""
    credential_id = credential_id_of(credential)
    if credential_id is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge.value,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=verify_user,
        )
        response = credential.get("response")
        handle = response.get("userHandle") if isinstance(response, dict) else None
        user_handle = _unb64(handle) if isinstance(handle, str) and handle else b""
    except (WebAuthnException, ValueError, TypeError, KeyError, binascii.Error) as exc:
        log.info("webauthn assertion refused: %s", exc)
        return None
    return Assertion(credential_id, verified.new_sign_count, verified.user_verified, user_handle)


def _descriptor(credential_id: str) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(id=_unb64(credential_id))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
