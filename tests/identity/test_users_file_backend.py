"""The users-file backend: loading with precise errors, logon, lookup, disabled users."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from konnect.config.errors import ConfigError
from konnect.identity.users_file import UsersFileBackend

ROOT = Path(__file__).resolve().parents[2]


def backend(config_dir: Path) -> UsersFileBackend:
    return UsersFileBackend.from_file(config_dir / "users.yaml")


def test_logon_and_lookup(config_dir: Path) -> None:
    users = backend(config_dir)
    user = asyncio.run(users.logon("Jonas", "correct horse battery staple"))
    assert user is not None
    assert user.subject == "1001"
    assert user.groups == ("staff",)
    assert asyncio.run(users.lookup("1001")) == user


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("jonas", "nope"),
        ("jonas", ""),
        ("ghost", "x"),
        ("timmothy", "correct horse battery staple"),
    ],
)
def test_failed_logons(config_dir: Path, username: str, password: str) -> None:
    assert asyncio.run(backend(config_dir).logon(username, password)) is None


def test_disabled_and_unknown_users_are_not_found(config_dir: Path) -> None:
    users = backend(config_dir)
    assert asyncio.run(users.lookup("1002")) is None
    assert asyncio.run(users.lookup("9999")) is None


def test_example_file_loads() -> None:
    users = UsersFileBackend.from_file(ROOT / "etc" / "users.yaml")
    assert asyncio.run(users.logon("jonas", "change me")) is not None
    assert asyncio.run(users.logon("former.employee", "change me")) is None


def test_problems_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(
        "users:\n"
        "  - username: a\n"
        "    password_hash: x\n"
        "    id: '1'\n"
        "  - username: b\n"
        "    id: '2'\n"
        "    colour: blue\n"
        "  - username: a\n"
        "    password_hash: x\n"
        "    id: '3'\n"
    )
    with pytest.raises(ConfigError) as caught:
        UsersFileBackend.from_file(path)
    problems = caught.value.problems
    assert f"{path}:5: unknown key 'colour'" in problems
    assert f"{path}:5: 'password_hash' is required and must be a string" in problems
    assert f"{path}:8: duplicate username or id" in problems
    path.write_text("users: [\n")
    with pytest.raises(ConfigError, match=r"users.yaml:\d+: invalid YAML"):
        UsersFileBackend.from_file(path)
