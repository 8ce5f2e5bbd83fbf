"""Worker threads for blocking work of the event loop, handed over with one queue put and one
`call_soon_threadsafe`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def process_generation() -> int:
    """A number that changes in a child once it forked: whether a process is still the one
    that made something, without a getpid() system call on every use."""
    return _generation


class WorkerThreads:
    """Threads that run blocking work for the event loop (signatures, so RSA signing uses every
    core), with a cheap hand-off.

    `cryptography` lets go of the GIL while OpenSSL signs, but a thread that has signed must
    take the GIL back from a loop that, under load, rarely lets go of it: every hand-off can
    wait for the interpreter's switch interval. Measured under load, concurrent.futures'
    hand-off (its future, condition lock and chaining into an asyncio future) also cost the
    loop more GIL time than the grant's own Python. So a hand-off here is a queue put and one
    `call_soon_threadsafe` with the outcome.
    """

    def __init__(self, name: str, count: int = 2) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._name = name
        self._count = count
        self._generation = -1  # of the process whose threads these are; -1: none started

    async def run(self, work: Callable[[], T]) -> T:
        """The result of `work()` run on one of the threads (its exception, if it raises)."""
        if self._generation != _generation:  # first use, or first use in a forked worker
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((work, future, loop))
        return await future

    def _start(self) -> None:
        self._generation = _generation
        jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._jobs = jobs
        for index in range(self._count):
            name = f"{self._name}-{index}"
            threading.Thread(target=_serve, args=(jobs,), name=name, daemon=True).start()

    def shutdown(self, wait: bool = False) -> None:
        """Let the threads end once the jobs queued before are done (never waits for them);
        a later `run` starts new ones."""
        if self._generation != _generation:
            return
        self._generation = -1
        for _ in range(self._count):
            self._jobs.put(None)


_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _serve(jobs: queue.SimpleQueue[_Job | None]) -> None:
    while (job := jobs.get()) is not None:
        work, future, loop = job
        try:
            outcome: tuple[Any, BaseException | None] = (work(), None)
        except Exception as exc:
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
