"""Running the app under uvicorn: `konnectd serve`, in one process or several forked workers.

With `--workers N` the parent builds the app once (so generated keys and secrets are shared),
binds the socket, and forks N workers that serve it; it stops them all on SIGTERM/SIGINT and
when any one of them dies, so a process manager can restart the whole service.

SIGHUP reloads the files a running server may re-read (see `create_app`); the parent passes it
on to every worker. SIGTERM stops accepting connections and lets the requests in flight finish,
for at most `--shutdown-timeout` seconds.

A connection must bring each request's head within HEAD_TIMEOUT seconds, counted from its
opening or from the previous answer, so slow or idle connections (slowloris) are closed.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import os
import signal
import socket
import sys
from asyncio import TimerHandle, Transport
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.http.app import Overrides, build_events, create_app
from konnect.http.reload import ReloadingApp
from konnect.observe import Events
from konnect.observe.logs import configure_logging
from konnect.observe.metrics import hand_over_directory, serve_metrics

log = logging.getLogger("konnect")

#: Seconds a connection has for the head of its next request (idle time included).
HEAD_TIMEOUT = 10.0
#: Seconds an idle connection stays open between requests.
KEEP_ALIVE_TIMEOUT = 5
#: Seconds an idle connection stays open once the server stops, for a request already sent.
SHUTDOWN_LINGER = 0.5


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class _JoinedWrites:
    """A response cycle's view of its connection: the head of an answer waits for the first
    part of its body, so both leave in one write (one TCP segment, one wake-up of the client)
    instead of two. Answers to HEAD have no body and go out at once; closing first sends
    what waits."""

    __slots__ = ("_cycle", "_head", "_head_seen", "_transport")

    def __init__(self, transport: Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._head_seen = False

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif not self._head_seen and self._cycle.response_started:
            # The cycle writes an answer's head as soon as the answer starts.
            self._head_seen = True
            if self._cycle.scope["method"] != "HEAD":
                self._head = data
                return
        self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request head is too slow.

    uvicorn times out idle connections only after a first request, and stops as soon as a
    byte arrives; a head sent a byte at a time would hold its connection forever.
    """

    _head_deadline: TimerHandle | None = None

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._stop_waiting()
        self._head_deadline = self.loop.call_later(HEAD_TIMEOUT, self._head_too_slow)

    def _stop_waiting(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        serving = self.cycle is not None and not self.cycle.response_complete
        if not serving and not self.transport.is_closing():
            self.transport.close()


class KonnectProtocol(HeadDeadlineProtocol):
    """The head deadline, and a shutdown that answers what a client already sent.

    uvicorn closes every connection without a request in progress as soon as it stops, so a
    request a client sent at that moment on a kept-alive connection (or whose head was still
    arriving) is lost. Instead such a connection lingers a moment: a request arriving is still
    answered, with `Connection: close`.
    """

    _stopping = False

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.transport is self.transport:
            self.cycle.transport = _JoinedWrites(self.transport, self.cycle)  # type: ignore[assignment]
        if self._stopping and self.cycle is not None:
            self.cycle.keep_alive = False

    def shutdown(self) -> None:
        self._stopping = True
        if self.cycle is not None and not self.cycle.response_complete:
            super().shutdown()
            return
        self._stop_waiting()
        self._head_deadline = self.loop.call_later(SHUTDOWN_LINGER, self._head_too_slow)


def uvicorn_config(
    app: ASGIApp, host: str, port: int, shutdown_timeout: int = 10
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=KonnectProtocol,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through konnect's handler, in its format
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=shutdown_timeout,
        backlog=4096,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


class ReloadingServer(uvicorn.Server):
    """uvicorn's server that reloads the app's files on SIGHUP once it serves."""

    def __init__(self, config: uvicorn.Config, app: ReloadingApp) -> None:
        super().__init__(config)
        self.reloading_app = app
        # A SIGHUP while this server starts (another worker may already answer) is kept and
        # carried out once it serves, not lost.
        self._reload_asked = False
        signal.signal(signal.SIGHUP, self._remember_reload)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def _remember_reload(self, signum: int, frame: FrameType | None) -> None:
        self._reload_asked = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reloading_app.reload_soon)
        if self._reload_asked:
            self.reloading_app.reload_soon()


def _worker(
    app: ReloadingApp,
    config: uvicorn.Config,
    sock: socket.socket,
    hand_over: Callable[[], Callable[[], None]],
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    stop_hand_over = hand_over()
    try:
        ReloadingServer(config, app).run(sockets=[sock])
    finally:
        stop_hand_over()


def _serve_workers(
    app: ReloadingApp,
    config: uvicorn.Config,
    count: int,
    started: Callable[[list[int]], None],
    hand_over: Callable[[], Callable[[], None]],
) -> int:
    """Run `count` workers; `started` is told their pids, and `hand_over` starts in each one
    what hands its metrics to the parent (it returns what stops that)."""
    sock = _bind(config.host, config.port)
    context = multiprocessing.get_context("fork")
    # Held back, not lost, until the parent and each worker handle it (Linux keeps a blocked
    # signal pending even while it is ignored).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    workers = [
        context.Process(target=_worker, args=(app, config, sock, hand_over), daemon=True)
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    # Only the workers listen: once they all stopped, new connections are refused instead of
    # waiting in a backlog no one accepts from.
    sock.close()
    stopping = False

    def tell_workers(signum: int) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signum)

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        tell_workers(signal.SIGTERM)

    signal.signal(signal.SIGHUP, lambda signum, frame: tell_workers(signal.SIGHUP))
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
    # Threads of the parent only now: forking a threaded process is unsafe. Said after the
    # signals are handled, so that a reload asked for once it says it listens is not lost.
    started([os.getpid(), *(worker.pid for worker in workers if worker.pid is not None)])
    failed = False
    while any(worker.is_alive() for worker in workers):
        for worker in workers:
            worker.join(timeout=0.5)
            if not worker.is_alive() and not stopping:
                log.error("worker %s exited with %s: stopping", worker.pid, worker.exitcode)
                failed = True
                stop(signal.SIGTERM, None)
    return 1 if failed else 0


def _metrics_listener(
    settings: Settings, events: Events, pids: Sequence[int] = (), handed_over: Path | None = None
) -> Callable[[], None]:
    """Start the metrics listener, if metrics are on; the function that stops it. With
    several workers: `pids`, the processes whose process metrics it reports, and
    `handed_over`, the directory the workers hand their numbers over in."""
    if events.metrics is None:
        return lambda: None
    host, port = split_listen(settings.metrics_address)
    try:
        stop = serve_metrics(events.metrics, host, port, pids, handed_over)
    except OSError as exc:
        raise ConfigError([f"metrics_listen: cannot listen on {host}:{port}: {exc}"]) from None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return stop


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    # Until the server can reload, a SIGHUP must not end the process (its default action).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    handed_over: Path | None = None
    if settings.metrics_address and settings.workers > 1:
        handed_over, remove = hand_over_directory()
        atexit.register(remove)
    stoppers: list[Callable[[], None]] = []
    try:
        events = build_events(settings)
        app = create_app(settings, Overrides(events=events))
        if settings.workers == 1:
            stoppers.append(_metrics_listener(settings, events))
    except ConfigError as error:
        print("konnectd: configuration error:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    host, port = split_listen(settings.listen)
    log.info(
        "konnect listening on http://%s:%d (%d worker%s, pid %d), issuer %s",
        host,
        port,
        settings.workers,
        "" if settings.workers == 1 else "s",
        os.getpid(),
        settings.issuer,
    )
    config = uvicorn_config(app, host, port, settings.shutdown_timeout)
    try:
        if settings.workers > 1:

            def started(pids: list[int]) -> None:
                try:
                    stoppers.append(_metrics_listener(settings, events, pids, handed_over))
                except ConfigError as error:
                    log.error("no metrics: %s", "; ".join(error.problems))

            def hand_over() -> Callable[[], None]:
                if events.metrics is None or handed_over is None:
                    return lambda: None
                return events.metrics.hand_over(handed_over)

            return _serve_workers(app, config, settings.workers, started, hand_over)
        ReloadingServer(config, app).run()
        return 0
    finally:
        for stop in stoppers:
            stop()
