"""CredentialStore in a dict: for tests and single-process trials; forgets on restart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from konnect.mfa.model import KIND_RECOVERY, Account, AccountState, Factor, RowRef
from konnect.mfa.store import AccountSummary


class MemoryCredentialStore:
    """Every method runs without awaiting, so each is atomic on the event loop."""

    def __init__(self) -> None:
        self._factors: dict[RowRef, Factor] = {}
        self._states: dict[Account, AccountState] = {}

    async def factors(self, account: Account, kind: str | None = None) -> list[Factor]:
        found = [
            factor
            for factor in self._factors.values()
            if factor.ref.account == account and kind in (None, factor.ref.kind)
        ]
        return sorted(found, key=lambda factor: (factor.created, factor.ref.kind, factor.ref.id))

    async def find(self, kind: str, factor_id: str) -> Factor | None:
        for factor in self._factors.values():
            if factor.ref.kind == kind and factor.ref.id == factor_id:
                return factor
        return None

    async def add(self, factor: Factor) -> bool:
        if factor.ref in self._factors:
            return False
        self._factors[factor.ref] = factor
        return True

    async def remove(self, ref: RowRef) -> bool:
        return self._factors.pop(ref, None) is not None

    async def rename(self, ref: RowRef, name: str) -> bool:
        factor = self._factors.get(ref)
        if factor is None:
            return False
        self._factors[ref] = replace(factor, name=name)
        return True

    async def accept_counter(self, ref: RowRef, value: int, now: int) -> bool:
        factor = self._factors.get(ref)
        if factor is None or factor.counter >= value:
            return False
        self._factors[ref] = replace(factor, counter=value, last_used=now)
        return True

    async def replace_recovery_codes(self, account: Account, hashes: list[str], now: int) -> None:
        for ref in [ref for ref in self._factors if _is_recovery(ref, account)]:
            del self._factors[ref]
        for code_hash in hashes:
            ref = RowRef(KIND_RECOVERY, account, code_hash)
            self._factors[ref] = Factor(ref, "", "", now)

    async def use_recovery_code(self, account: Account, code_hash: str) -> bool:
        return self._factors.pop(RowRef(KIND_RECOVERY, account, code_hash), None) is not None

    async def account_state(self, account: Account) -> AccountState:
        return self._states.get(account, AccountState())

    async def record_failure(self, account: Account, lock_after: int) -> AccountState:
        state = self._states.get(account, AccountState())
        failures = state.failures + 1
        state = replace(state, failures=failures, locked=state.locked or failures >= lock_after)
        self._states[account] = state
        return state

    async def clear_failures(self, account: Account) -> None:
        state = self._states.get(account)
        if state is not None:
            self._states[account] = replace(state, failures=0)

    async def unlock(self, account: Account) -> bool:
        state = self._states.get(account, AccountState())
        self._states[account] = replace(state, failures=0, locked=False)
        return state.locked

    async def reset(self, account: Account, bump_epoch: bool) -> AccountState:
        for ref in [ref for ref in self._factors if ref.account == account]:
            del self._factors[ref]
        epoch = self._states.get(account, AccountState()).epoch + int(bump_epoch)
        self._states[account] = AccountState(epoch=epoch)
        return self._states[account]

    async def reseal(self, change: Callable[[Factor], str]) -> int:
        sealed = [factor for factor in self._factors.values() if factor.ref.kind != KIND_RECOVERY]
        changes = [(change(factor), factor) for factor in sealed]
        updates = [replace(factor, secret=new) for new, factor in changes if new != factor.secret]
        self._factors.update((factor.ref, factor) for factor in updates)
        return len(updates)

    async def summaries(self, backend: str | None = None) -> list[AccountSummary]:
        accounts = {ref.account for ref in self._factors} | set(self._states)
        found = []
        for account in sorted(accounts, key=lambda item: (item.backend, item.subject)):
            if backend is not None and account.backend != backend:
                continue
            kinds: dict[str, int] = {}
            for ref in self._factors:
                if ref.account == account:
                    kinds[ref.kind] = kinds.get(ref.kind, 0) + 1
            found.append(AccountSummary(account, kinds, self._states.get(account, AccountState())))
        return found

    async def problems(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None


def _is_recovery(ref: RowRef, account: Account) -> bool:
    return ref.kind == KIND_RECOVERY and ref.account == account
