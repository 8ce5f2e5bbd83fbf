"""Worker threads: results and errors come back to the awaiting coroutine, and two
pieces of work run at the same time."""

from __future__ import annotations

import asyncio
import threading

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
