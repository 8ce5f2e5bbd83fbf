"""A hostile web server on a loopback port, written on raw sockets so it can misbehave as an
attacker's would: compressed bombs, answers dripped a byte at a time, anything by path.

It records every request it gets and, per connection, how long konnect kept it open."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Behaviour = Callable[[socket.socket], None]


@dataclass
class Seen:
    """One request as the hostile server saw it, and how long its connection lasted."""

    method: str
    path: str
    headers: dict[str, str]
    opened: float
    closed: float | None = None

    @property
    def lasted(self) -> float:
        assert self.closed is not None, "the connection is still open"
        return self.closed - self.opened


@dataclass
class Hostile:
    """Serves `behaviours[path]`; a path without one answers 404. With `tls`, over TLS."""

    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    open_now: int = 0
    open_most: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._listener.close()

    def at(self, path: str) -> list[Seen]:
        return [item for item in self.seen if item.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 15) -> list[Seen]:
        """The first `count` requests to `path`, once their connections are closed."""
        deadline = time.monotonic() + timeout
        while True:
            done = [item for item in self.at(path) if item.closed is not None]
            if len(done) >= count:
                return done[:count]
            assert time.monotonic() < deadline, f"{path}: {self.at(path)}"
            time.sleep(0.02)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                return  # konnect did not like the certificate
        with conn, self._counted():
            seen = _read_request(conn)
            if seen is None:
                return
            self.seen.append(seen)
            try:
                self.behaviours.get(seen.path, not_found)(conn)
                _wait_for_close(conn, 20)
            except OSError:
                pass
            seen.closed = time.monotonic()

    @contextmanager
    def _counted(self) -> Iterator[None]:
        """Counts open connections, and the most that were open at once."""
        with self._lock:
            self.open_now += 1
            self.open_most = max(self.open_most, self.open_now)
        try:
            yield
        finally:
            with self._lock:
                self.open_now -= 1


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    missing = int(headers.get("content-length", "0")) - len(body)
    while missing > 0:
        chunk = conn.recv(missing)
        if not chunk:
            break
        missing -= len(chunk)
    return Seen(method, path, headers, time.monotonic())


def _closed_by_peer(conn: socket.socket, wait: float) -> bool:
    conn.settimeout(wait)
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False
    finally:
        conn.settimeout(None)


def _wait_for_close(conn: socket.socket, seconds: float) -> None:
    """Keep the connection until konnect closes it (or `seconds` pass)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _closed_by_peer(conn, 0.1):
        pass


def head(status: int = 200, content_type: str = "application/json", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Hostile", f"Content-Type: {content_type}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def not_found(conn: socket.socket) -> None:
    conn.sendall(head(404, Content_Length="0"))


def answer(body: bytes, status: int = 200, content_type: str = "application/json") -> Behaviour:
    def send(conn: socket.socket) -> None:
        conn.sendall(head(status, content_type, Content_Length=str(len(body))) + body)

    return send


def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip body of zeros: a few hundred bytes on the wire per MiB inflated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(inflated_mib)]
    return b"".join(parts) + packer.flush()


def gzipped(body: bytes, status: int = 200) -> Behaviour:
    """Answers with a gzip-compressed body, as a server may when the client accepts it."""

    def send(conn: socket.socket) -> None:
        conn.sendall(head(status, Content_Encoding="gzip", Content_Length=str(len(body))) + body)

    return send


def drip(every: float = 1.0, seconds: float = 15.0) -> Behaviour:
    """Promises a large answer, then sends one byte every `every` seconds (so no read ever
    waits long) until konnect closes the connection or `seconds` pass."""

    def send(conn: socket.socket) -> None:
        conn.sendall(head(Content_Length="100000"))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if _closed_by_peer(conn, every):
                return
            conn.sendall(b" ")

    return send
