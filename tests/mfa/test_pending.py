"""The pending sign-in and the offered seed travel sealed: tampered, foreign or late values
do not open, and an offered seed belongs to one pending sign-in."""

from __future__ import annotations

import secrets
from dataclasses import replace

from konnect.crypto import Sealer
from konnect.mfa.pending import (
    Enrolment,
    PendingSignIn,
    open_enrolment,
    open_pending,
    seal_enrolment,
    seal_pending,
)

NOW = 1_700_000_000


def pending(now: int = NOW) -> PendingSignIn:
    return PendingSignIn.start(
        now,
        subject="1001",
        username="jonas",
        display_name="Jonas",
        provider="users",
        amr=("pwd",),
        methods=("totp",),
        session_id="s" * 32,
        logon_time=now,
        epoch=3,
    )


def test_a_pending_sign_in_opens_for_five_minutes() -> None:
    sealer, value = Sealer(secrets.token_bytes(32)), pending()
    token = seal_pending(sealer, value)
    assert open_pending(sealer, token, NOW + 300) == value
    assert open_pending(sealer, token, NOW + 301) is None


def test_tampered_or_foreign_pending_values_do_not_open() -> None:
    sealer = Sealer(secrets.token_bytes(32))
    token = seal_pending(sealer, pending())
    assert open_pending(Sealer(secrets.token_bytes(32)), token, NOW) is None
    assert (
        open_pending(sealer, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], NOW)
        is None
    )
    # A value sealed for another purpose (the enrolment cookie) is not a pending sign-in.
    enrolment = Enrolment("e1", "p1", b"seed", NOW + 300)
    assert open_pending(sealer, seal_enrolment(sealer, enrolment), NOW) is None


def test_an_offered_seed_belongs_to_its_pending_sign_in() -> None:
    sealer, mine = Sealer(secrets.token_bytes(32)), pending()
    other = replace(mine, id="someone-else")
    enrolment = Enrolment("e1", mine.id, secrets.token_bytes(20), NOW + 300)
    token = seal_enrolment(sealer, enrolment)
    assert open_enrolment(sealer, token, mine.id, NOW) == enrolment
    assert open_enrolment(sealer, token, other.id, NOW) is None
    assert open_enrolment(sealer, token, mine.id, NOW + 301) is None
