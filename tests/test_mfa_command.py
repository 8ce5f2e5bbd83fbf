"""`konnectd mfa`: the real command on a real credential store file, each action audited."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from konnect.mfa import KIND_TOTP, Account, Factor, RowRef
from konnect.mfa.factors import LOCK_AFTER
from konnect.mfa.model import KIND_WEBAUTHN
from konnect.mfa.sqlite_store import SqliteCredentialStore

JANE = Account("users", "1001")


def konnectd(
    data_dir: Path, *args: str, audit: Path | None = None
) -> subprocess.CompletedProcess[str]:
    audited = ["--audit-log", str(audit)] if audit else []
    argv = [sys.executable, "-m", "konnect", "mfa", "--data-dir", str(data_dir), *audited, *args]
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def prepare(data_dir: Path) -> SqliteCredentialStore:
    store = SqliteCredentialStore(data_dir / "konnect.db")

    async def fill() -> None:
        await store.add(Factor(RowRef(KIND_TOTP, JANE, "app"), "", "sealed", 1))
        await store.replace_recovery_codes(JANE, ["h1", "h2"], 1)
        for _ in range(LOCK_AFTER + 1):
            await store.record_failure(JANE, LOCK_AFTER + 1)
        await store.add(Factor(RowRef(KIND_TOTP, Account("ldap", "max"), "a"), "", "s", 1))
        await store.add(Factor(RowRef(KIND_WEBAUTHN, Account("ldap", "max"), "k"), "", "s", 1))
        await store.record_failure(Account("ldap", "eve"), LOCK_AFTER + 1)
        await store.close()

    asyncio.run(fill())
    return store


def audited(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_list_stats_unlock_and_reset(tmp_path: Path) -> None:
    store = prepare(tmp_path)
    audit = tmp_path / "audit.log"
    listed = konnectd(tmp_path, "list", audit=audit)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["BACKEND", "SUBJECT", "FACTORS", "FAILURES", "STATE"]
    assert "recovery 2, totp 1" in lines[3]
    assert lines[3].endswith("locked")
    assert konnectd(tmp_path, "list", "--backend", "ldap").stdout.count("\n") == 3
    stats = konnectd(tmp_path, "stats", audit=audit).stdout
    assert stats.splitlines() == [
        "accounts: 3",
        "with_second_factor: 2",
        "with_totp: 2",
        "with_webauthn: 1",
        "with_recovery_codes: 1",
        "locked: 1",
    ]
    unlocked = konnectd(tmp_path, "unlock", "users", "1001", audit=audit)
    assert unlocked.stdout.strip() == "users 1001 unlocked"
    assert (
        konnectd(tmp_path, "unlock", "users", "1001").stdout.strip() == "users 1001 was not locked"
    )
    reset = konnectd(tmp_path, "reset", "users", "1001", "--revoke-sessions", audit=audit)
    assert reset.returncode == 0
    assert "epoch 1" in reset.stdout

    async def after() -> tuple[list[Factor], int]:
        factors = await store.factors(JANE)
        state = await store.account_state(JANE)
        await store.close()
        return factors, state.epoch

    assert asyncio.run(after()) == ([], 1)
    events = [entry["event"] for entry in audited(audit)]
    assert events == ["mfa_list", "mfa_stats", "mfa_unlock", "mfa_reset"]
    assert audited(audit)[-1]["subject"] == "1001"
    assert audited(audit)[-1]["revoke_sessions"] is True


def test_without_a_command_it_shows_usage(tmp_path: Path) -> None:
    result = konnectd(tmp_path)
    assert result.returncode == 2
    assert "list" in result.stderr


def test_a_missing_store_file_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    result = konnectd(tmp_path / "elsewhere", "list")
    assert result.returncode == 1
    assert "no credential store at" in result.stderr
    assert not (tmp_path / "elsewhere").exists()
