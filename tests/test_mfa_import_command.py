"""`konnectd mfa import-totp`: the real command reads an export, finds the users by name in
the users file serve uses, and stores each key sealed to its row; a bad line stops it all."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from pathlib import Path

from konnect.mfa import KIND_TOTP, Account, FactorSealer, totp_code, verify_totp
from konnect.mfa.sqlite_store import SqliteCredentialStore
from konnect.mfa.store import CredentialStore
from konnect.mfa.stores import open_credential_store
from tests.test_mfa_command import audited, konnectd

JANE, MAX = Account("identifier-users", "1001"), Account("identifier-users", "1002")
SEED_J, SEED_M = secrets.token_bytes(20), secrets.token_bytes(16)


def b32(seed: bytes) -> str:
    return base64.b32encode(seed).decode().rstrip("=")


def prepare(folder: Path) -> None:
    """A users file with jane and max, an mfa key and an empty credential store."""
    (folder / "users.yaml").write_text(
        "users:\n"
        "  - username: jane\n    password_hash: x\n    id: '1001'\n"
        "  - username: max\n    password_hash: x\n    id: '1002'\n",
        encoding="utf-8",
    )
    (folder / "mfa.key").write_bytes(secrets.token_bytes(32))
    SqliteCredentialStore(folder / "konnect.db").check()


def import_totp(
    folder: Path, text: str, *flags: str, dry_run: bool = False
) -> tuple[int, str, str]:
    export = folder / "export.txt"
    export.write_text(text, encoding="utf-8")
    serve = ["--", "--iss", "http://localhost:8777", "users", str(folder / "users.yaml")]
    key = ["--mfa-key", str(folder / "mfa.key")]
    argv = [*key, *flags, "import-totp", str(export), *(["--dry-run"] if dry_run else [])]
    result = konnectd(folder, *argv, *serve, audit=folder / "audit.log")
    return result.returncode, result.stdout, result.stderr


def opened(folder: Path, account: Account, spec: str = "") -> list[tuple[str, bytes | None]]:
    store: CredentialStore = (
        open_credential_store(spec, None) if spec else SqliteCredentialStore(folder / "konnect.db")
    )
    sealer = FactorSealer((folder / "mfa.key").read_bytes())

    async def main() -> list[tuple[str, bytes | None]]:
        factors = await store.factors(account, KIND_TOTP)
        await store.close()
        return [(factor.name, sealer.open(factor.ref, factor.secret)) for factor in factors]

    return asyncio.run(main())


def test_csv_and_json_lines_become_sealed_factors_of_the_named_users(tmp_path: Path) -> None:
    prepare(tmp_path)
    spaced = " ".join(b32(SEED_M)[i : i + 4] for i in range(0, len(b32(SEED_M)), 4)).lower()
    export = (
        "# exported\n"
        f"jane,{b32(SEED_J)},Old phone\n"
        f'{{"user": "max", "seed": "{spaced}", "digits": 6, "algorithm": "sha1"}}\n'
    )
    status, out, err = import_totp(tmp_path, export)
    assert status == 0, err
    assert "line 2: imported for jane (identifier-users 1001)" in out
    assert "imported: 2, already there: 0" in out
    assert opened(tmp_path, JANE) == [("Old phone", SEED_J)]
    assert opened(tmp_path, MAX) == [("", SEED_M)]
    now = time.time()
    assert verify_totp(opened(tmp_path, JANE)[0][1] or b"", totp_code(SEED_J, now), now)
    again = import_totp(tmp_path, export)
    assert "imported: 0, already there: 2" in again[1]
    assert len(opened(tmp_path, JANE)) == 1
    events = audited(tmp_path / "audit.log")
    assert [(e["event"], e["subject"], e["dry_run"]) for e in events] == [
        ("mfa_import_totp", "1001", False),
        ("mfa_import_totp", "1002", False),
    ]
    logged = (tmp_path / "audit.log").read_text() + out + again[1]
    assert b32(SEED_J) not in logged
    assert b32(SEED_J).lower() not in logged


def test_one_bad_line_is_named_and_nothing_is_stored(tmp_path: Path) -> None:
    prepare(tmp_path)
    short = b32(secrets.token_bytes(10))
    export = (
        f"jane,{b32(SEED_J)}\n"
        f"max,{short}\n"
        "max,not base32!\n"
        f"nobody,{b32(SEED_M)}\n"
        f'{{"user": "max", "seed": "{b32(SEED_M)}", "digits": 8}}\n'
        '{"user": "max", "seed": \n'
        "just-one-field\n"
    )
    status, out, err = import_totp(tmp_path, export)
    assert status == 1
    assert "line 2: the seed has 80 bits; 128 to 512 are accepted" in err
    assert "line 3: the seed is not base32" in err
    assert "line 4: no user 'nobody' in identifier-users" in err
    assert "line 5: digits 8 is not supported (only 6)" in err
    assert "line 6: not a JSON object" in err
    assert "line 7: expected user,seed[,name], found 1 fields" in err
    assert "nothing imported" in err
    assert short not in err + out
    assert b32(SEED_J) not in err + out
    assert opened(tmp_path, JANE) == []
    assert not (tmp_path / "audit.log").exists() or not audited(tmp_path / "audit.log")


def test_a_dry_run_reports_and_stores_nothing(tmp_path: Path) -> None:
    prepare(tmp_path)
    status, out, err = import_totp(tmp_path, f"jane,{b32(SEED_J)}\n", dry_run=True)
    assert status == 0, err
    assert "line 1: would import for jane" in out
    assert opened(tmp_path, JANE) == []
    assert audited(tmp_path / "audit.log")[0]["dry_run"] is True


def test_import_into_postgresql(tmp_path: Path, postgres_url: str) -> None:
    prepare(tmp_path)
    flags = ["--credential-store", postgres_url]
    status, _, err = import_totp(tmp_path, f"max,{b32(SEED_M)},Token\n", *flags)
    assert status == 0, err
    assert opened(tmp_path, MAX, postgres_url) == [("Token", SEED_M)]
