"""`konnectd users`: the real command on a real users file, and a real server reading it."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from konnect.crypto import verify_password
from konnect.identity.users_admin import UsersFile, UsersFileError
from konnect.identity.users_file import load_users
from tests.conftest import PASSWORD, browser, sign_in

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "etc" / "users.yaml"
NEW_PASSWORD = "a new and long passphrase"


@pytest.fixture
def users_path(tmp_path: Path) -> Path:
    folder = tmp_path / "users"
    folder.mkdir()
    path = folder / "users.yaml"
    shutil.copy(EXAMPLE, path)
    path.chmod(0o640)
    return path


def command(path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "konnect", "users", "--file", str(path), *args]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run(path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(path, *args), input=stdin, capture_output=True, text=True, env=child_env()
    )


def run_in_terminal(path: Path, *args: str, answers: list[str]) -> tuple[int, str]:
    """Run the command on a pseudo-terminal, typing each answer after a prompt."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        command(path, *args),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=child_env(),
        start_new_session=True,  # no controlling terminal but this one
    )
    os.close(slave)
    seen = b""
    try:
        for answer in answers:
            while not seen.endswith(b": "):
                seen += read_some(master)
            os.write(master, answer.encode() + b"\n")
            seen += b"\n"
        while chunk := read_some(master):
            seen += chunk
    finally:
        os.close(master)
    return process.wait(timeout=20), seen.decode()


def read_some(master: int) -> bytes:
    ready, _, _ = select.select([master], [], [], 20)
    assert ready, "the command did not answer"
    try:
        return os.read(master, 1024)
    except OSError:  # the command closed its terminal
        return b""


def entries(path: Path) -> dict[str, tuple[str, bool]]:
    return {
        entry.user.username: (entry.password_hash, entry.disabled) for entry in load_users(path)
    }


def test_add_appends_the_user_keeping_comments_and_order(users_path: Path) -> None:
    before = users_path.read_text(encoding="utf-8")
    inode = users_path.stat().st_ino
    result = run(
        users_path, "add", "ada", "--name", "Ada Lovelace", "--group", "staff", stdin=PASSWORD
    )
    assert result.returncode == 0, result.stderr
    after = users_path.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n") + '\n  - username: "ada"\n    password_hash: ')
    assert after.count("\n") == before.count("\n") + 5
    assert '    name: "Ada Lovelace"\n    groups: ["staff"]\n' in after
    password_hash, disabled = entries(users_path)["ada"]
    assert verify_password(password_hash, PASSWORD)
    assert not disabled
    assert PASSWORD not in result.stdout + result.stderr
    # Written atomically: a new file in place of the old, same mode, nothing left behind.
    assert users_path.stat().st_ino != inode
    assert users_path.stat().st_mode & 0o777 == 0o640
    assert [path.name for path in users_path.parent.iterdir()] == ["users.yaml"]


def test_passwd_asks_twice_on_the_terminal_without_echo(users_path: Path) -> None:
    status, seen = run_in_terminal(
        users_path, "passwd", "jonas", answers=[NEW_PASSWORD, NEW_PASSWORD]
    )
    assert status == 0, seen
    assert "Password: " in seen
    assert "Repeat password: " in seen
    assert NEW_PASSWORD not in seen
    assert verify_password(entries(users_path)["jonas"][0], NEW_PASSWORD)


def test_passwd_with_different_answers_changes_nothing(users_path: Path) -> None:
    before = users_path.read_text(encoding="utf-8")
    status, seen = run_in_terminal(
        users_path, "passwd", "jonas", answers=[NEW_PASSWORD, "something else"]
    )
    assert status == 1
    assert "do not match" in seen
    assert users_path.read_text(encoding="utf-8") == before


def test_passwd_changes_only_the_hash(users_path: Path) -> None:
    before = users_path.read_text(encoding="utf-8")
    old_hash = entries(users_path)["former.employee"][0]
    result = run(users_path, "passwd", "former.employee", stdin=NEW_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    new_hash = entries(users_path)["former.employee"][0]
    after = users_path.read_text(encoding="utf-8")
    assert after == before[::-1].replace(old_hash[::-1], new_hash[::-1], 1)[::-1]


def test_disable_and_enable_change_one_line(users_path: Path) -> None:
    before = users_path.read_text(encoding="utf-8")
    assert run(users_path, "disable", "Jonas").returncode == 0
    assert run(users_path, "enable", "former.employee").returncode == 0
    expected = before.replace(
        "  - username: jonas\n", "  - username: jonas\n    disabled: true\n"
    ).replace(
        "    name: Former Employee\n    disabled: true",
        "    name: Former Employee\n    disabled: false",
    )
    assert users_path.read_text(encoding="utf-8") == expected
    assert entries(users_path)["jonas"][1] is True
    assert entries(users_path)["former.employee"][1] is False
    again = run(users_path, "enable", "former.employee")
    assert again.stdout == "user 'former.employee' already enabled\n"


def test_list_shows_users_but_no_hashes(users_path: Path) -> None:
    result = run(users_path, "list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "ID", "STATUS", "NAME"]
    assert lines[1].split() == ["jonas", "8c3b6f4e-0001", "enabled", "Jonas", "Brekke"]
    assert lines[2].split()[:3] == ["former.employee", "8c3b6f4e-0002", "disabled"]
    assert "$argon2" not in result.stdout


def test_refused_changes_leave_the_file_alone(users_path: Path) -> None:
    before = users_path.read_text(encoding="utf-8")
    taken = run(users_path, "add", "JONAS", stdin=PASSWORD)
    assert taken.returncode == 1
    assert taken.stderr == "konnectd: user 'JONAS' already exists\n"
    assert run(users_path, "add", "ada", "--id", "8c3b6f4e-0001", stdin=PASSWORD).returncode == 1
    assert run(users_path, "add", "ada\u2028x", stdin=PASSWORD).returncode == 1
    assert run(users_path, "add", "ada", stdin="").returncode == 1  # empty password
    assert run(users_path, "passwd", "nobody", stdin=PASSWORD).returncode == 1
    assert users_path.read_text(encoding="utf-8") == before


def test_a_file_changed_meanwhile_is_not_overwritten(users_path: Path) -> None:
    users = UsersFile(users_path)
    users_path.write_text(users_path.read_text(encoding="utf-8") + "\n# edited by hand\n")
    with pytest.raises(UsersFileError, match="changed while it was edited"):
        users.set_disabled("jonas", True)
    assert users_path.read_text(encoding="utf-8").endswith("# edited by hand\n")


def test_a_running_server_signs_the_new_user_in_and_stops_a_disabled_one(
    konnectd: tuple[str, list[str]], config_dir: Path
) -> None:
    url, _ = konnectd
    users_path = config_dir / "users.yaml"
    with browser(url) as client:
        assert sign_in(client, url, "ada").status_code != 200
    assert run(users_path, "add", "ada", stdin=PASSWORD + "\n").returncode == 0
    assert run(users_path, "disable", "jonas").returncode == 0
    deadline = time.monotonic() + 5
    while True:
        with browser(url) as client:
            ada = sign_in(client, url, "ada").status_code
        with browser(url) as client:
            jonas = sign_in(client, url, "jonas").status_code
        if (ada == 200 and jonas != 200) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert ada == 200
    assert jonas != 200
    assert httpx.get(url + "/health-check").status_code == 200
