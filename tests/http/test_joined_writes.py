"""The server's HTTP/1.1 protocol sends an answer's head together with the first part of its
body; HEAD answers, `100 Continue` and answers cut off by an error still go out as before."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from konnect.http import server
from tests.conftest import RunningServer, free_port

#: How long the test app waits between an answer's head and its body.
PAUSE = 0.5


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await _answer(send, b"got " + body)
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/broken":
        raise RuntimeError("the answer breaks off after its head")
    await asyncio.sleep(PAUSE)
    await send({"type": "http.response.body", "body": b"body"})


async def _answer(send: Send, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def address() -> Iterator[tuple[str, int]]:
    port = free_port()
    running = RunningServer(_app, port, config=server.uvicorn_config(_app, "127.0.0.1", port))
    running.start()
    yield ("127.0.0.1", port)
    running.stop()


def _receive(connection: socket.socket, wait: float) -> bytes:
    """What arrives within `wait` seconds (until the connection closes)."""
    connection.settimeout(0.05)
    received = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            part = connection.recv(65536)
        except TimeoutError:
            continue
        if not part:
            break
        received += part
    return received


def test_the_head_waits_for_the_body_and_both_arrive_at_once(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        connection.sendall(b"GET /slow HTTP/1.1\r\nHost: konnect\r\n\r\n")
        assert _receive(connection, PAUSE / 2) == b""
        connection.settimeout(5)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\nbody")


def test_the_head_of_a_head_answer_goes_out_at_once(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        connection.sendall(b"HEAD /slow HTTP/1.1\r\nHost: konnect\r\n\r\n")
        answer = _receive(connection, PAUSE / 2)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\n")


def test_an_answer_broken_off_after_its_head_still_sends_the_head(
    address: tuple[str, int],
) -> None:
    with socket.create_connection(address) as connection:
        connection.sendall(b"GET /broken HTTP/1.1\r\nHost: konnect\r\n\r\n")
        answer = _receive(connection, 5)  # ends when the server closes the connection
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\n")


def test_continue_goes_out_before_the_body_is_sent(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as connection:
        connection.sendall(
            b"POST /echo HTTP/1.1\r\nHost: konnect\r\nContent-Length: 2\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        assert _receive(connection, 1).startswith(b"HTTP/1.1 100 Continue")
        connection.sendall(b"hi")
        connection.settimeout(5)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"got hi")
