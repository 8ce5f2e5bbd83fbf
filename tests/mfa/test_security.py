"""The security page's rules on real stores: the last factor stays while the policy requires
one, also when two removals run at once (at `optional` both go, with the recovery codes)."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest

from konnect.mfa import Account, FactorSealer
from konnect.mfa.factors import SecondFactors
from konnect.mfa.model import KIND_TOTP, Factor, RowRef
from konnect.mfa.policy import MfaPolicy
from konnect.mfa.security import OwnFactors, Removal
from tests.conftest import Clock
from tests.mfa.stores import KINDS, open_stores

JANE = Account("users", "jane")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["required", "optional"])
def test_two_removals_at_once_leave_a_factor_when_one_is_required(
    kind: str, mode: str, tmp_path: Path
) -> None:
    credentials, state = open_stores(kind, tmp_path)
    sealer = FactorSealer(secrets.token_bytes(32))
    factors = SecondFactors(MfaPolicy(mode=mode), credentials, sealer, state, Clock(1e9))
    own = OwnFactors(factors)
    refs = [RowRef(KIND_TOTP, JANE, name) for name in ("phone", "tablet")]

    async def scenario() -> tuple[list[Removal], int, int]:
        for ref in refs:
            await credentials.add(Factor(ref, ref.id, sealer.seal(ref, b"seed"), 1))
        await factors.new_recovery_codes(JANE)
        outcomes = await asyncio.gather(*(own.remove(JANE, KIND_TOTP, ref.id, ()) for ref in refs))
        left = len(await own.listed(JANE))
        codes = await own.recovery_codes_left(JANE)
        await credentials.close()
        return list(outcomes), left, codes

    outcomes, left, codes = asyncio.run(scenario())
    if mode == "required":
        # Each removal either went through or was undone: at least one factor is kept.
        assert Removal.PROTECTED in outcomes
        assert left == 2 - outcomes.count(Removal.REMOVED) >= 1
        assert codes == 10
    else:
        assert outcomes == [Removal.REMOVED, Removal.REMOVED]
        assert (left, codes) == (0, 0)
