"""Metrics are counted in plain numbers and read at the scrape: bucket bounds, counts from
several threads, workers' numbers added up from what they hand over, and state store calls
timed."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from konnect.observe.metrics import BUCKETS, Metrics, read_handed_over
from konnect.observe.store import TimedStore
from konnect.state import MemoryStateStore, StateStoreUnavailable
from konnect.state.redis_store import RedisStateStore
from tests.conftest import free_port


def _sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket() -> None:
    metrics = Metrics()
    for seconds in (BUCKETS[0], BUCKETS[0] + 0.0001, BUCKETS[-1] + 1):
        metrics.store_seconds.observe(seconds, "get")
    name = "konnect_state_store_duration_seconds"
    assert _sample(metrics, name + "_bucket", operation="get", le="0.0005") == 1
    assert _sample(metrics, name + "_bucket", operation="get", le="0.001") == 2
    assert _sample(metrics, name + "_bucket", operation="get", le="10.0") == 2
    assert _sample(metrics, name + "_bucket", operation="get", le="+Inf") == 3
    assert _sample(metrics, name + "_count", operation="get") == 3
    assert _sample(metrics, name + "_sum", operation="get") == sum(
        (BUCKETS[0], BUCKETS[0] + 0.0001, BUCKETS[-1] + 1)
    )


def test_answers_are_scraped_as_requests_by_status_and_durations_by_route() -> None:
    metrics = Metrics()
    for status, seconds in ((200, 0.0004), (200, 0.002), (400, 0.0003)):
        metrics.answers.observe(seconds, "/konnect/v1/token", "POST", status)
    metrics.answers.observe(0.02, "/konnect/v1/userinfo", "GET", 200)
    text = generate_latest(metrics.registry).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    requests = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for sample in families["konnect_http_requests"].samples
    }
    assert requests == {
        ("/konnect/v1/token", "200"): 2,
        ("/konnect/v1/token", "400"): 1,
        ("/konnect/v1/userinfo", "200"): 1,
    }
    token = {"route": "/konnect/v1/token", "method": "POST"}
    name = "konnect_http_request_duration_seconds"
    assert _sample(metrics, name + "_count", **token) == 3
    assert _sample(metrics, name + "_bucket", **token, le="0.0005") == 2
    assert _sample(metrics, name + "_sum", **token) == 0.0004 + 0.002 + 0.0003
    assert _sample(metrics, name + "_count", route="/konnect/v1/userinfo", method="GET") == 1


def test_counts_from_several_threads_are_all_kept() -> None:
    metrics = Metrics()

    def count() -> None:
        for _ in range(20_000):
            metrics.tokens.inc("refresh_token", "client", "PS256")
            metrics.signing_seconds.observe(0.0004, "PS256")

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = {"grant_type": "refresh_token", "client": "client", "alg": "PS256"}
    assert _sample(metrics, "konnect_tokens_issued_total", **labels) == 80_000
    assert _sample(metrics, "konnect_signing_duration_seconds_count", alg="PS256") == 80_000


def _worker(metrics: Metrics, directory: Path, tokens: int) -> None:
    stop = metrics.hand_over(directory, every=0.01)
    for _ in range(tokens):
        metrics.tokens.inc("client_credentials", "service", "ES256")
    metrics.answers.observe(0.002, "/konnect/v1/token", "POST", 200)
    stop()


def test_the_numbers_workers_hand_over_are_added_up(tmp_path: Path) -> None:
    metrics = Metrics()  # built before the fork, as `konnectd serve --workers N` does
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_worker, args=(metrics, tmp_path, n)) for n in (3, 4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{worker.pid}.json" for worker in workers
    )
    numbers = read_handed_over(tmp_path)
    assert numbers["konnect_tokens_issued"] == {("client_credentials", "service", "ES256"): [7.0]}
    (durations,) = numbers["konnect_http_requests"].values()
    assert durations[0] == 0.004  # the sum, then a count per bucket
    assert durations[1:] == [0, 0, 2] + [0] * (len(BUCKETS) - 2)
    assert _sample(metrics, "konnect_tokens_issued_total") is None  # the parent counted none


def test_a_worker_that_cannot_hand_over_says_so_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    stop = metrics.hand_over(tmp_path / "removed", every=0.01)
    time.sleep(0.05)
    stop()
    assert "cannot hand this worker's numbers over" in caplog.text
    stop = metrics.hand_over(tmp_path, every=0.01)
    metrics.jitsi_tokens.inc("guest")
    stop()
    assert read_handed_over(tmp_path) == {
        **{name: {} for name in metrics.snapshot()},
        "konnect_jitsi_tokens": {("guest",): [1.0]},
    }


def test_a_file_that_cannot_be_read_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text('{"konnect_jitsi_tokens": [[["guest"], [2]]]}')
    (tmp_path / "2.json").write_text('{"konnect_jitsi_t')
    assert read_handed_over(tmp_path) == {"konnect_jitsi_tokens": {("guest",): [2]}}


def test_state_store_calls_are_timed_and_failures_counted() -> None:
    metrics = Metrics()
    working = TimedStore(MemoryStateStore(), metrics)
    unreachable = TimedStore(RedisStateStore(f"redis://127.0.0.1:{free_port()}/0"), metrics)

    async def calls() -> None:
        await working.put("key", "value", 60)
        assert await working.get("key") == "value"
        with pytest.raises(StateStoreUnavailable):
            await unreachable.get("key")
        await unreachable.close()

    asyncio.run(calls())
    name = "konnect_state_store_duration_seconds_count"
    assert _sample(metrics, name, operation="put") == 1
    assert _sample(metrics, name, operation="get") == 2
    assert _sample(metrics, "konnect_state_store_errors_total", operation="get") == 1
    assert _sample(metrics, "konnect_state_store_errors_total", operation="put") is None
