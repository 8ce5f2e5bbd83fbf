"""The users file backend reads a changed file again and keeps its users when it is broken."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from konnect.identity.users_file import UsersFileBackend
from tests.conftest import PASSWORD


def wait_past_the_check_interval() -> None:
    time.sleep(1.05)


def test_a_changed_file_is_read_again(config_dir: Path, password_hash: str) -> None:
    path = config_dir / "users.yaml"
    backend = UsersFileBackend.from_file(path)
    assert asyncio.run(backend.logon("ada", PASSWORD)) is None
    path.write_text(
        path.read_text(encoding="utf-8").replace("username: jonas", "username: ada"),
        encoding="utf-8",
    )
    wait_past_the_check_interval()
    user = asyncio.run(backend.logon("ada", PASSWORD))
    assert user is not None
    assert user.subject == "1001"
    assert asyncio.run(backend.lookup_username("jonas")) is None


def test_a_broken_file_keeps_the_users_read_before(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_dir / "users.yaml"
    backend = UsersFileBackend.from_file(path)
    path.write_text("users:\n  - username: [broken\n", encoding="utf-8")
    wait_past_the_check_interval()
    with caplog.at_level(logging.ERROR, logger="konnect"):
        user = asyncio.run(backend.lookup("1001"))
    assert user is not None
    assert user.username == "jonas"
    assert "users file not reloaded" in caplog.text


def test_the_file_is_checked_at_most_once_a_second(config_dir: Path) -> None:
    path = config_dir / "users.yaml"
    backend = UsersFileBackend.from_file(path)
    path.write_text("users: []\n", encoding="utf-8")
    assert asyncio.run(backend.lookup("1001")) is not None  # within the first second
    wait_past_the_check_interval()
    assert asyncio.run(backend.lookup("1001")) is None
