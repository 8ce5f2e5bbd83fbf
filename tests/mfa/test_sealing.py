"""Factor secrets are sealed to their row; recovery codes hash per account; the MFA secret
comes from --mfa-key or the encryption secret, never from a random per-start one."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from konnect.config.errors import ConfigError
from konnect.mfa import (
    Account,
    FactorSealer,
    RowRef,
    derive_mfa_secret,
    new_recovery_codes,
    normalise_recovery_code,
)

JANE = Account("users", "jane")
ROW = RowRef("totp", JANE, "f1")


def test_a_sealed_secret_opens_in_its_own_row_only() -> None:
    sealer = FactorSealer(secrets.token_bytes(32))
    sealed = sealer.seal(ROW, b"seed")
    assert sealer.open(ROW, sealed) == b"seed"
    others = [
        RowRef("totp", JANE, "f2"),
        RowRef("webauthn", JANE, "f1"),
        RowRef("totp", Account("users", "john"), "f1"),
        RowRef("totp", Account("ldap", "jane"), "f1"),
    ]
    assert [sealer.open(row, sealed) for row in others] == [None] * 4


def test_row_parts_cannot_be_shifted_into_each_other() -> None:
    sealer = FactorSealer(secrets.token_bytes(32))
    sealed = sealer.seal(RowRef("totp", Account("a", "b:c"), "d"), b"seed")
    assert sealer.open(RowRef("totp", Account("a:b", "c"), "d"), sealed) is None


def test_another_key_does_not_open() -> None:
    sealed = FactorSealer(secrets.token_bytes(32)).seal(ROW, b"seed")
    assert FactorSealer(secrets.token_bytes(32)).open(ROW, sealed) is None


def test_recovery_hashes_are_keyed_and_bound_to_the_account() -> None:
    key = secrets.token_bytes(32)
    sealer = FactorSealer(key)
    code = "abcde23456"
    assert sealer.recovery_hash(JANE, code) == FactorSealer(key).recovery_hash(JANE, code)
    assert sealer.recovery_hash(JANE, code) != sealer.recovery_hash(Account("users", "x"), code)
    assert sealer.recovery_hash(JANE, code) != FactorSealer(secrets.token_bytes(32)).recovery_hash(
        JANE, code
    )


def test_mfa_secret_from_a_key_file_or_the_encryption_secret(tmp_path: Path) -> None:
    key_file, secret_file = tmp_path / "mfa.key", tmp_path / "secret"
    key_file.write_bytes(b"k" * 32)
    secret_file.write_bytes(b"s" * 32)
    assert derive_mfa_secret(key_file, secret_file) == b"k" * 32
    derived = derive_mfa_secret(None, secret_file)
    assert len(derived) == 32
    assert derived != b"s" * 32
    assert derived == derive_mfa_secret(None, secret_file)


def test_mfa_without_a_lasting_secret_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="--mfa-key FILE or --encryption-secret"):
        derive_mfa_secret(None, None)


def test_a_short_mfa_key_is_a_config_error(tmp_path: Path) -> None:
    key_file = tmp_path / "mfa.key"
    key_file.write_bytes(b"short")
    with pytest.raises(ConfigError, match=r"mfa key .* exactly 32 raw bytes"):
        derive_mfa_secret(key_file, None)


def test_ten_distinct_recovery_codes_that_normalise() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    for code in codes:
        assert normalise_recovery_code(code.upper().replace("-", " ")) == code.replace("-", "")
    assert normalise_recovery_code("abcde-2345") is None
    assert normalise_recovery_code("abcde-2345l") is None  # l is not in the alphabet


def test_the_previous_key_still_opens_and_finds_recovery_codes_but_never_seals() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    before, during = FactorSealer(old), FactorSealer(new, old)
    sealed = before.seal(ROW, b"seed")
    assert during.open(ROW, sealed) == b"seed"
    assert FactorSealer(new).open(ROW, sealed) is None
    assert not during.opens_with_current_key(ROW, sealed)
    assert during.opens_with_current_key(ROW, during.seal(ROW, b"seed"))
    assert FactorSealer(new).open(ROW, during.seal(ROW, b"seed")) == b"seed"
    code_hash = before.recovery_hash(JANE, "abc")
    assert during.recovery_hashes(JANE, "abc") == [
        FactorSealer(new).recovery_hash(JANE, "abc"),
        code_hash,
    ]


def test_serve_opens_factors_of_the_previous_key(tmp_path: Path) -> None:
    from konnect.config import Settings
    from konnect.mfa.setup import build_second_factors
    from konnect.state import MemoryStateStore

    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_bytes(secrets.token_bytes(32))
    new.write_bytes(secrets.token_bytes(32))
    sealed = FactorSealer(old.read_bytes()).seal(ROW, b"seed")
    settings = Settings(
        issuer="https://id.example.com",
        mfa="optional",
        mfa_methods=("totp", "recovery"),
        mfa_key=new,
        mfa_previous_key=old,
        credential_store="memory",
    )
    factors = build_second_factors(settings, MemoryStateStore(), None, lambda: 0.0)
    assert factors.sealer.open(ROW, sealed) == b"seed"
    assert factors.sealer.opens_with_current_key(ROW, factors.sealer.seal(ROW, b"x"))
