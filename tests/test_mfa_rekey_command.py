"""`konnectd mfa rekey`: the real command moves every sealed factor to a new key on a real
SQLite file and PostgreSQL database, all or nothing, and audits what it did."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest

from konnect.mfa import KIND_TOTP, Account, Factor, FactorSealer, RowRef, derive_mfa_secret
from konnect.mfa.model import KIND_WEBAUTHN
from konnect.mfa.sqlite_store import SqliteCredentialStore
from konnect.mfa.store import CredentialStore
from konnect.mfa.stores import open_credential_store
from tests.test_mfa_command import audited, konnectd

JANE_APP = RowRef(KIND_TOTP, Account("users", "1001"), "app")
MAX_KEY = RowRef(KIND_WEBAUTHN, Account("ldap", "max"), "cred")


def key_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(secrets.token_bytes(32))
    return path


def fill(store: CredentialStore, sealer: FactorSealer, *extra: Factor) -> None:
    async def main() -> None:
        for ref, secret in ((JANE_APP, b"jane-seed"), (MAX_KEY, b"max-public-key")):
            await store.add(Factor(ref, "", sealer.seal(ref, secret), 1))
        for factor in extra:
            await store.add(factor)
        await store.replace_recovery_codes(JANE_APP.account, ["h1"], 1)
        await store.close()

    asyncio.run(main())


def opened(store: CredentialStore, sealer: FactorSealer) -> dict[str, bytes | None]:
    async def main() -> dict[str, bytes | None]:
        found = {}
        for ref in (JANE_APP, MAX_KEY):
            factor = (await store.factors(ref.account, ref.kind))[0]
            found[ref.id] = sealer.open(ref, factor.secret)
        await store.close()
        return found

    return asyncio.run(main())


def test_rekey_moves_the_factors_from_the_encryption_secret_to_a_new_key(
    tmp_path: Path,
) -> None:
    encryption = key_file(tmp_path, "encryption.key")
    new_key = key_file(tmp_path, "new.key")
    old = FactorSealer(derive_mfa_secret(None, encryption))
    store = SqliteCredentialStore(tmp_path / "konnect.db")
    fill(store, old)
    audit = tmp_path / "audit.log"
    flags = ["--encryption-secret", str(encryption), "rekey", "--new-mfa-key", str(new_key)]
    result = konnectd(tmp_path, *flags, audit=audit)
    assert result.returncode == 0, result.stderr
    assert "factors sealed with the new key: 2 (already: 0)" in result.stdout
    assert "recovery codes" in result.stdout
    new = FactorSealer(new_key.read_bytes())
    assert opened(store, new) == {"app": b"jane-seed", "cred": b"max-public-key"}
    assert opened(store, old) == {"app": None, "cred": None}
    again = konnectd(tmp_path, "--mfa-key", str(new_key), *flags[2:], audit=audit)
    assert "sealed with the new key: 0 (already: 2)" in again.stdout
    entries = audited(audit)
    assert [entry["event"] for entry in entries] == ["mfa_rekey", "mfa_rekey"]
    assert (entries[0]["resealed"], entries[0]["recovery_code_accounts"]) == (2, 1)
    assert "seed" not in audit.read_text() + result.stdout + result.stderr


def test_one_factor_no_key_opens_stops_the_rekey_with_nothing_changed(tmp_path: Path) -> None:
    old_key, new_key = key_file(tmp_path, "old.key"), key_file(tmp_path, "new.key")
    old = FactorSealer(old_key.read_bytes())
    stranger = RowRef(KIND_TOTP, Account("users", "1002"), "lost")
    foreign = FactorSealer(secrets.token_bytes(32)).seal(stranger, b"x")
    store = SqliteCredentialStore(tmp_path / "konnect.db")
    fill(store, old, Factor(stranger, "", foreign, 1))
    audit = tmp_path / "audit.log"
    flags = ["--mfa-key", str(old_key), "rekey", "--new-mfa-key", str(new_key)]
    result = konnectd(tmp_path, *flags, audit=audit)
    assert result.returncode == 1
    assert "totp factor lost of users 1002 opens with none of the keys" in result.stderr
    assert opened(store, old) == {"app": b"jane-seed", "cred": b"max-public-key"}
    assert audited(audit)[0]["refused"] == "lost"


def test_the_previous_key_of_a_key_change_opens_too(tmp_path: Path) -> None:
    old_key, new_key = key_file(tmp_path, "old.key"), key_file(tmp_path, "new.key")
    store = SqliteCredentialStore(tmp_path / "konnect.db")
    fill(store, FactorSealer(old_key.read_bytes()))
    serving = ["--mfa-key", str(new_key), "--mfa-previous-key", str(old_key)]
    result = konnectd(tmp_path, *serving, "rekey", "--new-mfa-key", str(new_key))
    assert result.returncode == 0, result.stderr
    assert opened(store, FactorSealer(new_key.read_bytes()))["app"] == b"jane-seed"


def test_rekey_without_a_current_key_says_so(tmp_path: Path) -> None:
    SqliteCredentialStore(tmp_path / "konnect.db").check()
    new_key = key_file(tmp_path, "new.key")
    result = konnectd(tmp_path, "rekey", "--new-mfa-key", str(new_key))
    assert result.returncode == 1
    assert "no key seals the factors" in result.stderr


@pytest.mark.usefixtures("postgres_server")
def test_rekey_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    old_key, new_key = key_file(tmp_path, "old.key"), key_file(tmp_path, "new.key")
    fill(open_credential_store(postgres_url, None), FactorSealer(old_key.read_bytes()))
    store_flags = ["--credential-store", postgres_url, "--mfa-key", str(old_key)]
    result = konnectd(tmp_path, *store_flags, "rekey", "--new-mfa-key", str(new_key))
    assert result.returncode == 0, result.stderr
    new = FactorSealer(new_key.read_bytes())
    assert opened(open_credential_store(postgres_url, None), new) == {
        "app": b"jane-seed",
        "cred": b"max-public-key",
    }
    assert "sealed with the new key: 2" in result.stdout
