"""The audit log: one JSON line per security-relevant event, to its own destination.

An event names what happened and to whom, never a password, token, code or secret: callers
pass only names, identifiers and outcomes, and the writer adds the time, the request id and
the client's address. A file destination survives rotation by renaming; syslog gets one
datagram per event.
"""

from __future__ import annotations

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

from konnect.observe import context

#: Where `--audit-log syslog` writes (the local syslog socket of Linux systems).
SYSLOG_SOCKET = "/dev/log"
#: The syslog tag (program name) of audit events.
SYSLOG_TAG = "konnectd-audit"

log = logging.getLogger(__name__)


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

    @classmethod
    def open(cls, destination: str) -> AuditLog:
        """`stderr`, `syslog` or `syslog:SOCKET` (facility auth), or a file appended to."""
        if destination == "stderr":
            return cls(_stream_writer(sys.stderr))
        if destination == "syslog" or destination.startswith("syslog:"):
            return cls(_syslog_writer(destination.removeprefix("syslog").removeprefix(":")))
        writer = FileWriter(Path(destination))
        return cls(writer, close=writer.close)

    def event(self, name: str, **fields: Any) -> None:
        record = {
            "time": _timestamp(self._clock()),
            "event": name,
            "request_id": context.request_id.get() or None,
            "client_ip": context.client_ip.get() or None,
            **fields,
        }
        self._write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))


def _timestamp(now: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return f"{seconds}.{int(now % 1 * 1000):03d}Z"


class FileWriter:
    """Appends lines to a file, and opens it anew when it was moved or removed (rotated by
    renaming, as logrotate does by default): each process checks before every line."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
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

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._stream.closed:  # the server has shut down
                log.error("audit log: event after shutdown not written: %s", line)
                return
            if self._moved():
                self._reopen()
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._stream.close()

    def _reopen(self) -> None:
        try:
            stream, identity = self._open()
        except OSError as exc:  # keep writing to the moved file rather than lose events
            log.error("audit log: cannot open %s again: %s", self._path, exc)
            return
        self._stream.close()
        self._stream, self._identity = stream, identity


def _stream_writer(stream: TextIO) -> Callable[[str], None]:
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            stream.write(line + "\n")
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
