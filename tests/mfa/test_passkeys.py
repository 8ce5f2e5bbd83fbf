"""WebAuthn ceremonies with a software authenticator, on real stores: what is accepted, and
every rule that refuses an answer (origin, RP ID, used or expired challenges, another
user's credential, a falling counter, a passkey without user verification, a foreign user
handle)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from konnect.crypto import Sealer
from konnect.mfa import Account, FactorSealer
from konnect.mfa.factors import SecondFactors, Verdict
from konnect.mfa.model import KIND_WEBAUTHN
from konnect.mfa.passkeys import Passkeys, RelyingParty
from konnect.mfa.policy import MfaPolicy
from konnect.mfa.webauthn import (
    CHALLENGE_MAX_AGE,
    REGISTER,
    SECOND_FACTOR,
    Challenge,
    open_challenge,
    seal_challenge,
)
from tests.conftest import Clock
from tests.mfa.soft_authenticator import SoftAuthenticator
from tests.mfa.stores import KINDS, open_stores

T = TypeVar("T")
JANE = Account("users", "jane")
JOHN = Account("users", "john")
ISSUER = "https://idp.example.com"
RP = RelyingParty.for_issuer(ISSUER)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture(params=KINDS)
def passkeys(request: pytest.FixtureRequest, tmp_path: Path) -> Passkeys:
    clock = Clock(1_700_000_000.0)
    credentials, state = open_stores(request.param, tmp_path)
    policy = MfaPolicy(mode="required", methods=("webauthn", "totp", "recovery"))
    factors = SecondFactors(
        policy, credentials, FactorSealer(secrets.token_bytes(32)), state, clock
    )
    return Passkeys(factors, RP, clock)


def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id="idp.example.com", origin=ISSUER)


async def enrolled(passkeys: Passkeys, account: Account = JANE) -> SoftAuthenticator:
    key = authenticator()
    challenge, options = await passkeys.registration(account, "p1", "jane", "Jane")
    codes = await passkeys.enrol(account, challenge, key.create(options))
    assert codes is not None
    return key


async def second_factor(
    passkeys: Passkeys, key: SoftAuthenticator, account: Account = JANE, **forged: Any
) -> Verdict:
    challenge, options = await passkeys.second_factor_options(account, "p1")
    return await passkeys.check(account, "p1", challenge, key.get(options, **forged))


async def passkey_sign_in(
    passkeys: Passkeys, key: SoftAuthenticator, **forged: Any
) -> Account | None:
    challenge, options = passkeys.passkey_options()
    return await passkeys.passkey_account(challenge, key.get(options, **forged))


def test_enrolment_stores_a_sealed_key_and_a_random_user_handle(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = authenticator()
        challenge, options = await passkeys.registration(JANE, "p1", "jane", "Jane")
        assert options["attestation"] == "none"
        assert options["rp"]["id"] == "idp.example.com"
        assert options["authenticatorSelection"]["residentKey"] == "preferred"
        codes = await passkeys.enrol(JANE, challenge, key.create(options))
        assert codes is not None
        assert len(codes) == 10
        assert key.user_handle not in (b"jane", b"")
        assert len(key.user_handle) == 32
        [factor] = await passkeys.factors.credentials.factors(JANE, KIND_WEBAUTHN)
        assert (
            key.key.public_key().public_numbers().x.to_bytes(32, "big")
            not in factor.secret.encode()
        )
        assert await passkeys.factors.methods(JANE) == ("webauthn", "recovery")
        # The same challenge cannot set up a second credential.
        assert await passkeys.enrol(JANE, challenge, authenticator().create(options)) is None
        # A second credential gets the account's same user handle.
        _, again = await passkeys.registration(JANE, "p2", "jane", "Jane")
        assert again["user"]["id"] == options["user"]["id"]
        assert [item["id"] for item in again["excludeCredentials"]] == [factor.ref.id]

    run(scenario())


def test_registration_from_another_origin_or_rp_is_refused(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        for forged in ({"origin": "https://evil.example.com"}, {"rp_id": "evil.example.com"}):
            challenge, options = await passkeys.registration(JANE, "p1", "jane", "Jane")
            assert (
                await passkeys.enrol(JANE, challenge, authenticator().create(options, **forged))
                is None
            )
        assert await passkeys.factors.methods(JANE) == ()

    run(scenario())


def test_a_security_key_answers_with_presence_only(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        assert await second_factor(passkeys, key, verified=False) is Verdict.ACCEPTED
        _challenge, options = await passkeys.second_factor_options(JANE, "p1")
        assert options["userVerification"] == "discouraged"
        assert [item["id"] for item in options["allowCredentials"]]

    run(scenario())


@pytest.mark.parametrize(
    "forged",
    [
        {"origin": "https://idp.example.com:8443"},
        {"origin": "http://idp.example.com"},
        {"rp_id": "example.com"},
    ],
    ids=["other-port", "other-scheme", "rp-id-hash"],
)
def test_wrong_origin_or_rp_id_hash_is_refused(passkeys: Passkeys, forged: dict[str, Any]) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        assert await second_factor(passkeys, key, **forged) is Verdict.WRONG
        assert await passkey_sign_in(passkeys, key, **forged) is None
        assert await second_factor(passkeys, key) is Verdict.ACCEPTED

    run(scenario())


def test_a_challenge_answers_once(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        challenge, options = await passkeys.second_factor_options(JANE, "p1")
        assert await passkeys.check(JANE, "p1", challenge, key.get(options)) is Verdict.ACCEPTED
        assert await passkeys.check(JANE, "p1", challenge, key.get(options)) is Verdict.WRONG
        challenge, options = passkeys.passkey_options()
        assert await passkeys.passkey_account(challenge, key.get(options)) == JANE
        assert await passkeys.passkey_account(challenge, key.get(options)) is None

    run(scenario())


def test_an_expired_or_foreign_challenge_does_not_open() -> None:
    sealer = Sealer(secrets.token_bytes(32))
    challenge = Challenge.new(SECOND_FACTOR, "p1", 1000)
    token = seal_challenge(sealer, challenge)
    assert open_challenge(sealer, token, SECOND_FACTOR, "p1", 1000 + CHALLENGE_MAX_AGE) == challenge
    assert open_challenge(sealer, token, SECOND_FACTOR, "p1", 1001 + CHALLENGE_MAX_AGE) is None
    assert open_challenge(sealer, token, SECOND_FACTOR, "p2", 1000) is None
    assert open_challenge(sealer, token, REGISTER, "p1", 1000) is None
    assert open_challenge(sealer, token[:-2] + "AA", SECOND_FACTOR, "p1", 1000) is None


def test_another_users_credential_is_refused(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        await enrolled(passkeys, JANE)
        johns = await enrolled(passkeys, JOHN)
        assert await second_factor(passkeys, johns, JANE) is Verdict.WRONG
        assert await second_factor(passkeys, johns, JOHN) is Verdict.ACCEPTED

    run(scenario())


def test_a_falling_counter_is_refused(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        assert await second_factor(passkeys, key, count=5) is Verdict.ACCEPTED
        assert await second_factor(passkeys, key, count=5) is Verdict.WRONG
        assert await second_factor(passkeys, key, count=4) is Verdict.WRONG
        assert await passkey_sign_in(passkeys, key, count=3) is None
        assert await second_factor(passkeys, key, count=0) is Verdict.WRONG
        assert await second_factor(passkeys, key, count=6) is Verdict.ACCEPTED

    run(scenario())


def test_an_authenticator_without_a_counter_stays_at_zero(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        assert await second_factor(passkeys, key, count=0) is Verdict.ACCEPTED
        assert await second_factor(passkeys, key, count=0) is Verdict.ACCEPTED

    run(scenario())


def test_a_passkey_needs_user_verification_and_the_accounts_handle(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        _challenge, options = passkeys.passkey_options()
        assert options["userVerification"] == "required"
        assert options["allowCredentials"] == []
        assert await passkey_sign_in(passkeys, key, verified=False) is None
        assert await passkey_sign_in(passkeys, key, user_handle=b"jane") is None
        assert await passkey_sign_in(passkeys, key, user_handle=b"") is None
        assert await passkey_sign_in(passkeys, authenticator()) is None
        assert await passkey_sign_in(passkeys, key) == JANE

    run(scenario())


def test_no_webauthn_when_the_policy_leaves_it_out(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        passkeys.factors.policy = MfaPolicy(mode="required", methods=("totp", "recovery"))
        assert await second_factor(passkeys, key) is Verdict.WRONG
        assert await passkey_sign_in(passkeys, key) is None

    run(scenario())


def test_a_security_key_stays_usable_while_codes_are_locked(passkeys: Passkeys) -> None:
    async def scenario() -> None:
        key = await enrolled(passkeys)
        assert (await passkeys.factors.credentials.record_failure(JANE, 1)).locked
        assert await passkeys.factors.check(JANE, "p1", "recovery", "x") is Verdict.LOCKED
        assert await second_factor(passkeys, key) is Verdict.ACCEPTED

    run(scenario())
