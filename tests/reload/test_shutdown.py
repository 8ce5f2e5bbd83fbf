"""SIGTERM lets the requests in flight finish, within --shutdown-timeout."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from tests.reload.conftest import Konnectd, signed_in_browser, silent_code

BODY = b"grant_type=authorization_code&code=unknown&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb"


def start_slow_token_request(url: str) -> socket.socket:
    """A token request whose head arrived and whose body is still coming."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname or "", address.port or 0), timeout=20)
    head = (
        "POST /konnect/v1/token HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\n"
        "Authorization: Basic dHJ1c3RlZC1hcHA6dHJ1c3RlZC1zZWNyZXQ=\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    )
    sock.sendall(head.encode() + BODY[:10])
    return sock


def finish(sock: socket.socket) -> bytes:
    sock.sendall(BODY[10:])
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    return answer


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_requests_in_flight_finish(
    start_konnectd: Callable[..., Konnectd], workers: int
) -> None:
    server = start_konnectd(workers)
    in_flight = [start_slow_token_request(server.url) for _ in range(6)]
    time.sleep(0.3)  # every head has arrived
    server.process.terminate()
    time.sleep(2)  # the requests stay in flight for two seconds after SIGTERM
    assert server.process.poll() is None, "konnectd exited with requests in flight"
    answers = [finish(sock) for sock in in_flight]
    for answer in answers:
        # The token endpoint's own answer for the unknown code, in full.
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert answer.endswith(b"}"), answer
        assert b'"invalid_grant"' in answer, answer
    # One process ends by the SIGTERM it got (uvicorn raises it again once done); workers'
    # parent exits with 0.
    assert server.stop() in (0, -signal.SIGTERM)


def test_shutdown_timeout_bounds_the_wait(start_konnectd: Callable[..., Konnectd]) -> None:
    server = start_konnectd(1, "shutdown_timeout = 1")
    stuck = start_slow_token_request(server.url)  # never finishes its body
    try:
        time.sleep(0.3)
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 3
        # The request cut off at the deadline is answered 500, not left hanging.
        assert stuck.recv(65536).startswith(b"HTTP/1.1 500 ")
    finally:
        stuck.close()
    assert "timeout graceful shutdown exceeded" in server.log_text()


def test_a_request_sent_on_a_kept_alive_connection_at_sigterm_is_answered(
    start_konnectd: Callable[..., Konnectd],
) -> None:
    server = start_konnectd()
    address = urlsplit(server.url)
    request = f"GET /health-check HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n".encode()
    with socket.create_connection((address.hostname or "", address.port or 0), 20) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        server.process.terminate()
        time.sleep(0.1)  # the server is stopping; the client does not know yet
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert b"connection: close" in answer.lower()


def test_sigterm_under_load_drops_no_request_it_received(
    start_konnectd: Callable[..., Konnectd],
) -> None:
    server = start_konnectd()
    stop = threading.Event()

    def load(client: httpx.Client) -> list[str]:
        failures = []
        while not stop.is_set():
            try:
                if silent_code(client) is None:
                    failures.append("no code")
            except httpx.ConnectError:
                pass  # refused: the server stopped listening, nothing was sent
            except httpx.HTTPError as error:
                failures.append(repr(error))
        return failures

    with contextlib.ExitStack() as stack:
        browsers = [stack.enter_context(signed_in_browser(server.url)) for _ in range(8)]
        with ThreadPoolExecutor(len(browsers)) as pool:
            running = [pool.submit(load, client) for client in browsers]
            time.sleep(1)
            server.process.terminate()
            server.process.wait(timeout=20)
            stop.set()
            failures = [future.result(timeout=30) for future in running]
    assert failures == [[]] * len(browsers)
