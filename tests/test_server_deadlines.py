"""Slow and idle connections (slowloris) against konnect served the way `konnectd serve`
serves it: a request's head must arrive within the head deadline, idle time included."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from konnect.config.model import Settings
from konnect.http import server
from konnect.http.app import create_app
from tests.conftest import RunningServer, free_port

HEAD_TIMEOUT = 2.0
#: How long a test waits for konnect to close a connection before calling it open.
PATIENCE = 8.0


@pytest.fixture
def address(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(server, "HEAD_TIMEOUT", HEAD_TIMEOUT)
    port = free_port()
    app = create_app(settings_factory(port))
    running = RunningServer(app, port, config=server.uvicorn_config(app, "127.0.0.1", port))
    running.start()
    yield ("127.0.0.1", port)
    running.stop()


def _closed(connection: socket.socket, wait: float) -> bool:
    connection.settimeout(wait)
    try:
        return connection.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def _open_for(connection: socket.socket, drip: bytes = b"", every: float = 0.5) -> float:
    """Seconds until konnect closes the connection, sending `drip` every `every` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < PATIENCE:
        try:
            connection.sendall(drip)
        except ConnectionError:
            break
        if _closed(connection, every):
            break
    return time.monotonic() - started


def _request(connection: socket.socket) -> bytes:
    connection.sendall(b"GET /health-check HTTP/1.1\r\nHost: konnect\r\n\r\n")
    connection.settimeout(5)
    answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return answer


def test_a_head_sent_a_byte_at_a_time_is_cut_off(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        connection.sendall(b"GET /health-check HTTP/1.1\r\nHost: konnect\r\nX-Slow: ")
        assert _open_for(connection, drip=b"a") < HEAD_TIMEOUT + 1


def test_a_connection_that_sends_nothing_is_closed(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        assert _open_for(connection) < HEAD_TIMEOUT + 1


def test_a_slow_head_after_a_kept_alive_answer_is_cut_off(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        _request(connection)
        connection.sendall(b"GET /health-check HTTP/1.1\r\n")
        assert _open_for(connection, drip=b"X") < HEAD_TIMEOUT + 1


def test_requests_in_time_keep_their_connection(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        for _ in range(3):
            _request(connection)
            time.sleep(HEAD_TIMEOUT / 2)
