"""A pending sign-in: the password was right, a second factor is still to come.

It travels sealed in a five-minute cookie instead of the logon cookie, so nothing is signed
in until the second factor is verified. A step-up (a signed-in browser asked for a second
factor it lacks or gave too long ago) keeps its sign-in session. A TOTP seed being set up
travels in a cookie of its own, sealed too, until a valid code confirms it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from konnect.crypto import Sealer, random_string
from konnect.mfa.policy import PENDING_MAX_AGE

_PENDING_PURPOSE = "konnect-mfa-pending-v1"
_ENROLMENT_PURPOSE = "konnect-mfa-enrolment-v1"


@dataclass(frozen=True)
class PendingSignIn:
    id: str
    subject: str
    username: str
    display_name: str
    provider: str
    amr: tuple[str, ...]
    #: The second factors the user may answer with; empty: the user must enrol one first.
    methods: tuple[str, ...]
    expires: int
    #: A step-up keeps the sign-in session it upgrades ("" for a new sign-in).
    session_id: str = ""
    logon_time: int = 0
    #: The account's epoch at the first factor: the sign-in keeps it.
    epoch: int = 0

    @property
    def enrol(self) -> bool:
        return not self.methods

    @classmethod
    def start(
        cls,
        now: int,
        *,
        subject: str,
        username: str,
        display_name: str,
        provider: str,
        amr: tuple[str, ...],
        methods: tuple[str, ...],
        session_id: str = "",
        logon_time: int = 0,
        epoch: int = 0,
    ) -> PendingSignIn:
        return cls(
            random_string(24),
            subject,
            username,
            display_name,
            provider,
            amr,
            methods,
            now + PENDING_MAX_AGE,
            session_id,
            logon_time,
            epoch,
        )


def seal_pending(sealer: Sealer, pending: PendingSignIn) -> str:
    record: dict[str, Any] = {
        "id": pending.id,
        "s": pending.subject,
        "u": pending.username,
        "dn": pending.display_name,
        "p": pending.provider,
        "amr": list(pending.amr),
        "m": list(pending.methods),
        "exp": pending.expires,
        "sid": pending.session_id,
        "iat": pending.logon_time,
        "ep": pending.epoch,
    }
    return sealer.seal_json(record, _PENDING_PURPOSE)


def open_pending(sealer: Sealer, token: str, now: int) -> PendingSignIn | None:
    """The pending sign-in, or None when absent, tampered or past its five minutes."""
    record = sealer.open_json(token, _PENDING_PURPOSE)
    if record is None:
        return None
    try:
        pending = PendingSignIn(
            str(record["id"]),
            str(record["s"]),
            str(record["u"]),
            str(record["dn"]),
            str(record["p"]),
            _strings(record["amr"]),
            _strings(record["m"]),
            int(record["exp"]),
            str(record.get("sid", "")),
            int(record.get("iat", 0)),
            int(record.get("ep", 0)),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return pending if pending.expires >= now and pending.id and pending.subject else None


@dataclass(frozen=True)
class Enrolment:
    """A TOTP seed offered to the user, bound to the pending sign-in (or sign-in session)
    it belongs to."""

    id: str
    pending_id: str
    seed: bytes
    expires: int


def seal_enrolment(sealer: Sealer, enrolment: Enrolment) -> str:
    record = {
        "id": enrolment.id,
        "pid": enrolment.pending_id,
        "seed": base64.b64encode(enrolment.seed).decode("ascii"),
        "exp": enrolment.expires,
    }
    return sealer.seal_json(record, _ENROLMENT_PURPOSE)


def open_enrolment(sealer: Sealer, token: str, pending_id: str, now: int) -> Enrolment | None:
    """The seed on offer to the pending sign-in `pending_id` (or, on the security page, the
    sign-in session of that id), unless tampered, foreign or expired."""
    record = sealer.open_json(token, _ENROLMENT_PURPOSE)
    if record is None:
        return None
    try:
        enrolment = Enrolment(
            str(record["id"]),
            str(record["pid"]),
            base64.b64decode(str(record["seed"]), validate=True),
            int(record["exp"]),
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if enrolment.pending_id != pending_id or enrolment.expires < now:
        return None
    return enrolment


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("not a list of strings")
    return tuple(value)
