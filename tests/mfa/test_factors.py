"""The failure rules of SecondFactors, on real stores: counted before checking, the pending
sign-in burnt after five, 429 after ten in the window, a lock after 100 in a row that only
an administrator lifts; and which level a request needs."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from konnect.mfa import Account, FactorSealer, new_totp_seed, totp_code
from konnect.mfa.factors import LOCK_AFTER, SecondFactors, Verdict, is_locked
from konnect.mfa.memory import MemoryCredentialStore
from konnect.mfa.policy import (
    MfaPolicy,
    required_level,
    second_factor_current,
    with_second_factor,
)
from konnect.state import MemoryStateStore
from tests.conftest import Clock
from tests.mfa.stores import KINDS, open_stores

T = TypeVar("T")
JANE = Account("users", "jane")


@pytest.fixture(params=KINDS)
def factors(request: pytest.FixtureRequest, tmp_path: Path) -> SecondFactors:
    clock = Clock(1_700_000_000.0)
    credentials, state = open_stores(request.param, tmp_path)
    sealer = FactorSealer(secrets.token_bytes(32))
    return SecondFactors(MfaPolicy(mode="required"), credentials, sealer, state, clock)


def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


def clock_of(factors: SecondFactors) -> Clock:
    clock = factors._clock
    assert isinstance(clock, Clock)
    return clock


async def enrolled(factors: SecondFactors) -> tuple[bytes, list[str]]:
    seed = new_totp_seed()
    codes = await factors.enrol_totp(JANE, "e1", seed, totp_code(seed, clock_of(factors).now))
    assert codes is not None
    return seed, codes


def test_enrolment_needs_a_valid_code_and_happens_once(factors: SecondFactors) -> None:
    async def scenario() -> tuple[object, ...]:
        seed = new_totp_seed()
        now = clock_of(factors).now
        wrong = await factors.enrol_totp(
            JANE, "e1", seed, "000000" if totp_code(seed, now) != "000000" else "111111"
        )
        before = await factors.methods(JANE)
        codes = await factors.enrol_totp(JANE, "e1", seed, totp_code(seed, now))
        again = await factors.enrol_totp(JANE, "e1", seed, totp_code(seed, now))
        return wrong, before, len(codes or []), again, await factors.methods(JANE)

    assert run(scenario) == (None, (), 10, None, ("totp", "recovery"))


def test_a_step_is_accepted_once(factors: SecondFactors) -> None:
    async def scenario() -> list[Verdict]:
        seed, _ = await enrolled(factors)
        clock_of(factors).advance(30)
        code = totp_code(seed, clock_of(factors).now)
        return [
            await factors.check(JANE, "p1", "totp", code),
            await factors.check(JANE, "p2", "totp", code),
        ]

    assert run(scenario) == [Verdict.ACCEPTED, Verdict.WRONG]


def test_a_secret_moved_to_another_row_does_not_verify(factors: SecondFactors) -> None:
    async def scenario() -> Verdict:
        seed, _ = await enrolled(factors)
        [factor] = await factors.credentials.factors(JANE, "totp")
        john = Account("users", "john")
        moved = type(factor)(type(factor.ref)("totp", john, factor.ref.id), "", factor.secret, 1)
        await factors.credentials.add(moved)
        clock_of(factors).advance(30)
        return await factors.check(john, "p1", "totp", totp_code(seed, clock_of(factors).now))

    assert run(scenario) == Verdict.WRONG


def test_the_fifth_wrong_answer_burns_the_pending_sign_in(factors: SecondFactors) -> None:
    async def scenario() -> list[Verdict]:
        seed, _ = await enrolled(factors)
        verdicts = [await factors.check(JANE, "p1", "totp", "000000") for _ in range(5)]
        clock_of(factors).advance(30)
        code = totp_code(seed, clock_of(factors).now)
        verdicts.append(await factors.check(JANE, "p1", "totp", code))
        return verdicts

    assert run(scenario) == [Verdict.WRONG] * 4 + [Verdict.BURNED] * 2


def test_a_hundred_failures_in_a_row_lock_until_unlocked(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000.0)
    credentials = MemoryCredentialStore()
    factors = SecondFactors(
        MfaPolicy(mode="required"),
        credentials,
        FactorSealer(secrets.token_bytes(32)),
        _ForgetfulWindow(),
        clock,
    )

    async def scenario() -> tuple[object, ...]:
        seed, codes = await enrolled(factors)
        verdicts = [
            await factors.check(JANE, f"p{index}", "recovery", "aaaaa-aaaaa")
            for index in range(LOCK_AFTER)
        ]
        locked = is_locked(await credentials.account_state(JANE))
        clock.advance(30)
        right = await factors.check(JANE, "late", "totp", totp_code(seed, clock.now))
        code = await factors.check(JANE, "late2", "recovery", codes[0])
        await credentials.unlock(JANE)
        clock.advance(30)
        after = await factors.check(JANE, "after", "totp", totp_code(seed, clock.now))
        return set(verdicts), locked, right, code, after

    assert run(scenario) == (
        {Verdict.WRONG},
        True,
        Verdict.LOCKED,
        Verdict.LOCKED,
        Verdict.ACCEPTED,
    )


def test_a_right_answer_ends_the_run_of_failures(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000.0)
    credentials = MemoryCredentialStore()
    factors = SecondFactors(
        MfaPolicy(), credentials, FactorSealer(secrets.token_bytes(32)), _ForgetfulWindow(), clock
    )

    async def scenario() -> int:
        _, codes = await enrolled(factors)
        for index in range(LOCK_AFTER - 1):
            await factors.check(JANE, f"p{index}", "recovery", "aaaaa-aaaaa")
        assert await factors.check(JANE, "ok", "recovery", codes[0]) == Verdict.ACCEPTED
        return (await credentials.account_state(JANE)).failures

    assert run(scenario) == 0


class _ForgetfulWindow(MemoryStateStore):
    """A state store whose windows never fill, to reach the consecutive-failure lock."""

    async def increment(self, key: str, ttl: float) -> int:
        return 1


def test_required_level_is_the_strictest() -> None:
    optional = MfaPolicy(mode="optional", required_groups=frozenset({"admins"}))
    assert required_level(optional, ["staff"]) == "optional"
    assert required_level(optional, ["admins"]) == "required"
    assert required_level(optional, [], client_level="required") == "required"
    assert required_level(optional, [], client_level="optional") == "optional"
    assert required_level(optional, [], requested_level="required") == "required"
    assert required_level(MfaPolicy(mode="required"), [], client_level="optional") == "required"


def test_a_second_factor_counts_for_max_age() -> None:
    assert second_factor_current(("pwd", "otp", "mfa"), 1000, 1600, 600)
    assert not second_factor_current(("pwd", "otp", "mfa"), 1000, 1601, 600)
    assert not second_factor_current(("pwd",), 1000, 1000, 600)
    assert not second_factor_current(("pwd", "mfa"), 0, 1000, 600)
    assert with_second_factor(("pwd",)) == ("pwd", "otp", "mfa")
    assert with_second_factor(("pwd", "otp", "mfa")) == ("pwd", "otp", "mfa")


def test_after_a_new_mfa_key_the_previous_one_still_takes_codes(factors: SecondFactors) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    factors.sealer = FactorSealer(old)

    async def scenario() -> tuple[Verdict, Verdict, Verdict]:
        seed, codes = await enrolled(factors)
        factors.sealer = FactorSealer(new)
        without = await factors.check(JANE, "p1", "recovery", codes[0])
        factors.sealer = FactorSealer(new, old)
        clock_of(factors).advance(30)
        totp = await factors.check(JANE, "p2", "totp", totp_code(seed, clock_of(factors).now))
        return without, totp, await factors.check(JANE, "p3", "recovery", codes[0])

    assert run(scenario) == (Verdict.WRONG, Verdict.ACCEPTED, Verdict.ACCEPTED)
