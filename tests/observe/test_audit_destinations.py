"""Where audit events go from a real konnectd: a syslog socket (a datagram receiver on a unix
socket, read the way rsyslog's and syslog-ng's local inputs read it), and a file that is
rotated by renaming while the server runs."""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import browser
from tests.observe.konnectd import client_credentials, konnectd
from tests.observe.test_scripted_session import wrong_password

#: RFC 3164 as a local syslog socket carries it: <PRI>TAG[PID]: MESSAGE, maybe NUL-ended.
SYSLOG_LINE = re.compile(rb"<(\d{1,3})>([A-Za-z0-9_.-]{1,32})\[(\d+)\]: (.*?)\x00?")
AUTH, INFO = 4, 6


@pytest.fixture
def syslog_socket() -> Iterator[tuple[socket.socket, Path]]:
    """A datagram receiver like /dev/log, in a folder short enough for a socket's name."""
    folder = Path(tempfile.mkdtemp(prefix="konnect-syslog-"))
    path = folder / "log"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(10)
    yield receiver, path
    receiver.close()
    shutil.rmtree(folder, ignore_errors=True)


def test_syslog_gets_one_message_per_event_with_tag_pid_and_facility_auth(
    key_dir: Path, config_dir: Path, syslog_socket: tuple[socket.socket, Path]
) -> None:
    receiver, path = syslog_socket
    with konnectd(key_dir, config_dir, "--audit-log", f"syslog:{path}") as server:
        with browser(server.url) as client:
            assert wrong_password(client, server.url).status_code == 204
        client_credentials(server.url)
        datagrams = [receiver.recv(65536) for _ in range(2)]
        pid = server.pid
    events = []
    for datagram in datagrams:
        parsed = SYSLOG_LINE.fullmatch(datagram)
        assert parsed is not None, datagram
        priority, tag, sender, message = parsed.groups()
        assert divmod(int(priority), 8) == (AUTH, INFO)
        assert (tag, int(sender)) == (b"konnectd-audit", pid)
        events.append(json.loads(message))
    assert [event["event"] for event in events] == ["sign_in_failed", "token_issued"]
    assert events[0]["user"] == "jonas"
    assert events[1]["client_id"] == "service-app"


def test_the_audit_file_is_opened_anew_after_it_was_renamed(
    key_dir: Path, config_dir: Path
) -> None:
    with konnectd(key_dir, config_dir, "--workers", "2") as server:
        client_credentials(server.url)
        rotated = server.audit_file.with_name("audit.jsonl.1")
        server.audit_file.rename(rotated)  # logrotate without copytruncate
        for _ in range(6):  # a connection each: both workers write
            client_credentials(server.url)
        current = server.audit_events()
    old = [json.loads(line) for line in rotated.read_text(encoding="utf-8").splitlines()]
    assert [event["event"] for event in old] == ["token_issued"]
    assert [event["event"] for event in current] == ["token_issued"] * 6
