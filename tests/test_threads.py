"""Worker threads: results and errors come back to the awaiting coroutine, and two
pieces of work run at the same time."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from typing import Any

import pytest

from konnect.threads import WorkerThreads


def test_results_and_errors_reach_the_caller() -> None:
    threads = WorkerThreads("test-sign")

    def fail() -> str:
        raise ValueError("no key")

    async def main() -> None:
        assert await threads.run(threading.current_thread) is not threading.current_thread()
        assert await threads.run(lambda: "signed") == "signed"
        with pytest.raises(ValueError, match="no key"):
            await threads.run(fail)

    try:
        asyncio.run(main())
    finally:
        threads.shutdown()


def test_two_pieces_of_work_run_at_once() -> None:
    threads = WorkerThreads("test-sign", 2)
    both_running = threading.Barrier(2, timeout=5)

    async def main() -> tuple[int, int]:
        return await asyncio.gather(threads.run(both_running.wait), threads.run(both_running.wait))

    try:
        assert sorted(asyncio.run(main())) == [0, 1]
    finally:
        threads.shutdown()


def test_a_cancelled_caller_does_not_stop_the_threads() -> None:
    threads = WorkerThreads("test-sign", 1)
    release = threading.Event()

    async def main() -> str:
        waiting = asyncio.ensure_future(threads.run(lambda: release.wait(5)))
        await asyncio.sleep(0.05)
        waiting.cancel()
        release.set()
        return await threads.run(lambda: "still signing")

    try:
        assert asyncio.run(main()) == "still signing"
    finally:
        threads.shutdown()


def test_after_a_shutdown_new_threads_take_the_work() -> None:
    threads = WorkerThreads("test-state", 1)

    async def main() -> tuple[str, str]:
        first = await threads.run(lambda: threading.current_thread().name)
        threads.shutdown()
        second = await asyncio.wait_for(threads.run(lambda: threading.current_thread().name), 5)
        return first, second

    assert asyncio.run(main()) == ("test-state-0", "test-state-0")


def _run_in_child(threads: WorkerThreads, results: Any) -> None:
    results.put(asyncio.run(threads.run(lambda: "signed in the child")))


def test_a_forked_worker_starts_threads_of_its_own() -> None:
    threads = WorkerThreads("test-sign", 1)
    try:
        assert asyncio.run(threads.run(lambda: "signed")) == "signed"
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        child = context.Process(target=_run_in_child, args=(threads, results), daemon=True)
        child.start()
        assert results.get(timeout=10) == "signed in the child"
        child.join(timeout=10)
    finally:
        threads.shutdown()
