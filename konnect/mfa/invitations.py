"""Enrolment invitations: with `mfa_enrolment = admin_only`, an administrator's single-use,
time-limited link that lets one user set up a first second factor at sign-in.

The invitation names the account, an expiry and a random id; it is sealed with a key derived
from the mfa key, so it cannot be altered or made up, and is claimed once in the state store
when the invited user's password starts the set-up. Nothing else is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from konnect.crypto import random_string
from konnect.mfa.model import Account
from konnect.mfa.sealing import FactorSealer

#: The link's fragment key: `<issuer>/signin/v1/identifier#mfa_invite=<token>`.
FRAGMENT_KEY = "mfa_invite"


@dataclass(frozen=True)
class Invitation:
    id: str
    account: Account
    not_after: int

    @classmethod
    def new(cls, account: Account, now: int, validity: int) -> Invitation:
        return cls(random_string(24), account, now + validity)


def seal_invitation(sealer: FactorSealer, invitation: Invitation) -> str:
    account = invitation.account
    record = {"i": invitation.id, "b": account.backend, "s": account.subject}
    return sealer.seal_invitation({**record, "na": invitation.not_after})


def open_invitation(sealer: FactorSealer, token: str, now: int) -> Invitation | None:
    """The invitation, or None when it was altered, made up or has expired."""
    record = sealer.open_invitation(token) if token else None
    if record is None:
        return None
    try:
        invitation = Invitation(
            str(record["i"]), Account(str(record["b"]), str(record["s"])), int(record["na"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    return invitation if now < invitation.not_after else None


def invitation_link(issuer: str, token: str) -> str:
    return f"{issuer.rstrip('/')}/signin/v1/identifier#{FRAGMENT_KEY}={token}"
