"""The audit log: one JSON line per security-relevant event, to its own destination.

An event names what happened and to whom, never a password, token, code or secret: callers
pass only names, identifiers and outcomes, and the writer adds the time, the request id and
the client's address. A file destination survives rotation by renaming; syslog gets one
datagram per event. Lines written on a running event loop leave together at the end of the
loop's turn (one system call for all the events of the requests it answered), before it
waits for the network again; elsewhere each line is written at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import orjson

from konnect.observe import context

#: Where `--audit-log syslog` writes (the local syslog socket of Linux systems).
SYSLOG_SOCKET = "/dev/log"
#: The syslog tag (program name) of audit events.
SYSLOG_TAG = "konnectd-audit"

log = logging.getLogger(__name__)
#: Text that is not valid Unicode (a lone surrogate a client sent as a JSON escape) is
#: written escaped, as JSON allows; orjson writes everything else, ten times as fast.
_ESCAPING = json.JSONEncoder(separators=(",", ":")).encode


class AuditLog:
    """Writes audit events as JSON lines through one `write` callable."""

    def __init__(
        self,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        close: Callable[[], None] = lambda: None,
    ):
        self._write = write
        self._clock = clock
        self.close = close
        self._second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    @classmethod
    def open(cls, destination: str, clock: Callable[[], float] = time.time) -> AuditLog:
        """`stderr`, `syslog` or `syslog:SOCKET` (facility auth), or a file appended to."""
        if destination == "syslog" or destination.startswith("syslog:"):
            socket_path = destination.removeprefix("syslog").removeprefix(":")
            return cls(_syslog_writer(socket_path), clock)
        if destination == "stderr":
            lines = LineBatches(_stream_writer(sys.stderr))
        else:
            file = FileWriter(Path(destination))
            lines = LineBatches(file, file.close)
        return cls(lines.write, clock, lines.close)

    def event(self, name: str, **fields: Any) -> None:
        record = {
            "time": self._timestamp(self._clock()),
            "event": name,
            "request_id": context.request_id.get() or None,
            "client_ip": context.client_ip.get() or None,
            **fields,
        }
        try:
            line = orjson.dumps(record).decode()
        except orjson.JSONEncodeError:
            line = _ESCAPING(record)
        self._write(line)

    def _timestamp(self, now: float) -> str:
        """UTC with milliseconds, e.g. 2026-12-07T15:47:43.512Z (formatted once a second)."""
        second, text = self._second
        if int(now) != second:
            second = int(now)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(now % 1 * 1000):03d}Z"


class LineBatches:
    """Collects the lines of one turn of the event loop and hands them on in one call at its
    end; a line from a thread without a running loop is handed on at once, after any
    collected before it. Lines the destination cannot take (a full disk, a closed stream) and
    lines after closing go to the application log as errors, so the events survive there."""

    def __init__(
        self, write_lines: Callable[[list[str]], None], close: Callable[[], None] = lambda: None
    ) -> None:
        self._write_lines = write_lines
        self._close = close
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._closed = False

    def write(self, line: str) -> None:
        if self._closed:
            _log_unwritten([line], "the server has shut down")
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            with self._lock:
                self._pending.append(line)
                self._flush_locked()
            return
        with self._lock:
            self._pending.append(line)
            if len(self._pending) == 1:
                loop.call_soon(self.flush)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        lines, self._pending = self._pending, []
        if not lines:
            return
        try:
            self._write_lines(lines)
        except OSError as exc:
            _log_unwritten(lines, str(exc))

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._closed = True
            self._close()


class FileWriter:
    """Appends lines to a file, and opens it anew when it was moved or removed (rotated by
    renaming, as logrotate does by default): each process checks before every write, and
    after a failed write opens it anew. Not thread-safe by itself: `LineBatches` calls it
    under its lock."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stream, self._identity = self._open()

    def _open(self) -> tuple[TextIO, tuple[int, int]]:
        stream = self._path.open("a", encoding="utf-8")
        status = os.fstat(stream.fileno())
        return stream, (status.st_dev, status.st_ino)

    def _moved(self) -> bool:
        try:
            status = os.stat(self._path)
        except FileNotFoundError:
            return True
        return (status.st_dev, status.st_ino) != self._identity

    def __call__(self, lines: list[str]) -> None:
        if self._stream.closed or self._moved():
            self._reopen()
        try:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
        except OSError:
            # Drops what the failed write left in the buffer; the next write opens anew.
            self.close()
            raise

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stream.close()

    def _reopen(self) -> None:
        try:
            stream, identity = self._open()
        except OSError as exc:
            if self._stream.closed:
                raise
            # Keep writing to the moved file rather than lose events.
            log.error("audit log: cannot open %s again: %s", self._path, exc)
            return
        with contextlib.suppress(OSError):
            self._stream.close()
        self._stream, self._identity = stream, identity


def _log_unwritten(lines: list[str], reason: str) -> None:
    log.error("audit log: %d event(s) not written (%s); they follow", len(lines), reason)
    for line in lines:
        log.error("audit log: event not written: %s", line)


def _stream_writer(stream: TextIO) -> Callable[[list[str]], None]:
    def write(lines: list[str]) -> None:
        stream.write("\n".join(lines) + "\n")
        stream.flush()

    return write


def _syslog_writer(socket_path: str) -> Callable[[str], None]:
    """Datagrams to the local syslog socket in the form rsyslog and syslog-ng read from it:
    `<38>konnectd-audit[PID]: {...}` (facility auth, severity info, the worker's pid)."""
    handler = logging.handlers.SysLogHandler(
        socket_path or SYSLOG_SOCKET, facility=logging.handlers.SysLogHandler.LOG_AUTH
    )
    handler.setFormatter(logging.Formatter(SYSLOG_TAG + "[%(process)d]: %(message)s"))
    logger = logging.getLogger("konnect.audit.syslog")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger.info
