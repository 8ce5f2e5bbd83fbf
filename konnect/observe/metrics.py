"""konnect's Prometheus metrics: counted in plain numbers, served on a listener of their own.

Every request pays for counting, so counting is a dictionary update under a lock; only a
scrape turns the numbers into Prometheus metrics, through a collector of our own that
prometheus-client serves. With several workers each one hands its numbers over every second
(a file of its own in a directory they share) and the parent's listener adds them up.
Process metrics, which cannot be added up, are read from /proc for each process and told
apart by a `pid` label.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
#: Latency buckets in seconds: sub-millisecond answers up to slow directories.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: How often a worker hands its numbers to the parent's listener.
HAND_OVER_SECONDS = 1.0

#: Numbers of each series by metric name and label values: a counter's count, or a
#: histogram's sum followed by its bucket counts (not cumulative, the last one above all).
Numbers = dict[str, dict[tuple[str, ...], list[float]]]


class _Family:
    """One metric's series by label values, guarded by a lock (signing threads count too)."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str], size: int) -> None:
        self.name = "konnect_" + name
        self.documentation = documentation
        self.labels = tuple(labels)
        self._size = size
        self._series: dict[tuple[object, ...], list[float]] = {}
        self._lock = threading.Lock()

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        with self._lock:
            return {
                tuple(map(str, values)): list(numbers) for values, numbers in self._series.items()
            }

    def _new(self, values: tuple[object, ...]) -> list[float]:
        """A series for these label values (call with the lock held)."""
        numbers = self._series[values] = [0.0] * self._size
        return numbers

    def exposition(self, series: dict[tuple[str, ...], list[float]]) -> list[Metric]:
        raise NotImplementedError


class Counter(_Family):
    def __init__(self, name: str, documentation: str, *labels: str) -> None:
        super().__init__(name, documentation, labels, 1)

    def inc(self, *values: object) -> None:
        """Counts one for these label values (anything with a `str`, e.g. a status code)."""
        with self._lock:
            numbers = self._series.get(values) or self._new(values)
            numbers[0] += 1

    def exposition(self, series: dict[tuple[str, ...], list[float]]) -> list[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, numbers in series.items():
            family.add_metric(values, numbers[0])
        return [family]


class Histogram(_Family):
    def __init__(self, name: str, documentation: str, *labels: str) -> None:
        super().__init__(name, documentation, labels, len(BUCKETS) + 2)

    def observe(self, seconds: float, *values: object) -> None:
        with self._lock:
            numbers = self._series.get(values) or self._new(values)
            numbers[0] += seconds
            numbers[bisect_left(BUCKETS, seconds) + 1] += 1

    def exposition(self, series: dict[tuple[str, ...], list[float]]) -> list[Metric]:
        from prometheus_client.metrics_core import HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [*map(floatToGoString, BUCKETS), "+Inf"]
        for values, numbers in series.items():
            buckets = list(zip(bounds, accumulate(numbers[1:]), strict=True))
            family.add_metric(values, buckets, numbers[0])
        return [family]


class Answers(Histogram):
    """HTTP answers, counted once each: a histogram by route, method and status, scraped as
    the requests counter (by status) and the duration histogram (by route and method)."""

    def __init__(self) -> None:
        super().__init__("http_requests", "HTTP requests answered", "route", "method", "status")
        self._durations = Histogram(
            "http_request_duration_seconds", "time to answer HTTP requests", "route", "method"
        )

    def exposition(self, series: dict[tuple[str, ...], list[float]]) -> list[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily

        requests = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        by_route: dict[tuple[str, ...], list[float]] = {}
        for (route, method, status), numbers in series.items():
            requests.add_metric((route, method, status), sum(numbers[1:]))
            _add(by_route, (route, method), numbers)
        return [requests, *self._durations.exposition(by_route)]


class Metrics:
    """Every metric konnect keeps, and the registry a scrape reads them from."""

    def __init__(self) -> None:
        self.answers = Answers()
        self.sign_ins = Counter("sign_ins", "password sign-ins by outcome", "backend", "outcome")
        self.tokens = Counter("tokens_issued", "token responses", "grant_type", "client", "alg")
        self.token_reuse = Counter(
            "token_reuse_detected", "replayed codes and refresh tokens (grant revoked)", "kind"
        )
        self.guests = Counter("guest_tokens", "guests admitted by a client", "client")
        self.jitsi_tokens = Counter("jitsi_tokens", "Jitsi tokens minted", "kind")
        self.backend_seconds = Histogram(
            "backend_duration_seconds", "identity backend calls", "backend", "operation"
        )
        self.backend_errors = Counter(
            "backend_errors", "identity backend calls that failed", "backend", "operation"
        )
        self.authority_seconds = Histogram(
            "authority_duration_seconds", "calls to upstream authorities", "authority", "operation"
        )
        self.authority_errors = Counter(
            "authority_errors", "failed calls to upstream authorities", "authority", "operation"
        )
        self.store_seconds = Histogram(
            "state_store_duration_seconds", "state store calls", "operation"
        )
        self.store_errors = Counter(
            "state_store_errors", "state store calls that failed", "operation"
        )
        self.signing_seconds = Histogram("signing_duration_seconds", "time to sign tokens", "alg")
        self.registry = _registry(self.families(), self.snapshot, with_process=True)

    def families(self) -> list[_Family]:
        return [value for value in vars(self).values() if isinstance(value, _Family)]

    def snapshot(self) -> Numbers:
        return {family.name: family.snapshot() for family in self.families()}

    def hand_over(self, directory: Path, every: float = HAND_OVER_SECONDS) -> Callable[[], None]:
        """In a worker: writes this process's numbers into `directory` every `every` seconds,
        for the parent's listener; the returned function stops that after a last write."""
        path = directory / f"{os.getpid()}.json"
        done = threading.Event()

        def write() -> None:
            numbers = {
                name: [[list(values), counts] for values, counts in series.items()]
                for name, series in self.snapshot().items()
            }
            temporary = path.with_suffix(".tmp")
            try:
                temporary.write_text(json.dumps(numbers), encoding="utf-8")
                os.replace(temporary, path)
            except OSError as exc:  # a full disk: the next second tries again
                log.warning("metrics: cannot hand this worker's numbers over: %s", exc)

        def run() -> None:
            while not done.wait(every):
                write()

        thread = threading.Thread(target=run, name="metrics-hand-over", daemon=True)
        thread.start()

        def stop() -> None:
            done.set()
            thread.join()
            write()

        return stop


def hand_over_directory() -> tuple[Path, Callable[[], None]]:
    """A private directory for the workers' numbers, and the function that removes it."""
    directory = tempfile.mkdtemp(prefix="konnect-metrics-")
    return Path(directory), lambda: shutil.rmtree(directory, ignore_errors=True)


def read_handed_over(directory: Path) -> Numbers:
    """The numbers of every worker that wrote into `directory`, added up."""
    total: Numbers = {}
    for path in directory.glob("*.json"):
        try:
            numbers = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not the scrape's to fail: workers replace their files whole
        for name, series in numbers.items():
            into = total.setdefault(name, {})
            for values, counts in series:
                _add(into, tuple(values), counts)
    return total


def _add(
    series: dict[tuple[str, ...], list[float]], key: tuple[str, ...], numbers: list[float]
) -> None:
    """Adds `numbers` to the series `key`, number by number."""
    total = series.get(key)
    series[key] = numbers if total is None else [*map(sum, zip(total, numbers, strict=True))]


class _Collector:
    """Turns the numbers `read` returns into Prometheus metrics, at each scrape."""

    def __init__(self, families: Sequence[_Family], read: Callable[[], Numbers]) -> None:
        self._families = families
        self._read = read

    def collect(self) -> Iterator[Metric]:
        numbers = self._read()
        for family in self._families:
            yield from family.exposition(numbers.get(family.name, {}))


def _registry(
    families: Sequence[_Family], read: Callable[[], Numbers], with_process: bool
) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector
    from prometheus_client.process_collector import ProcessCollector

    registry = CollectorRegistry(auto_describe=True)
    PlatformCollector(registry=registry)
    if with_process:
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
    registry.register(cast("Collector", _Collector(families, read)))
    return registry


def serve_metrics(
    metrics: Metrics,
    host: str,
    port: int,
    pids: Sequence[int] = (),
    handed_over: Path | None = None,
) -> Callable[[], None]:
    """Serve /metrics on host:port in a thread; returns the function that stops it. With
    several workers the numbers they hand over into `handed_over` are added up, and each
    process's metrics (`pids`: the workers' and the parent's) are labelled with its pid."""
    from prometheus_client import start_http_server

    registry = metrics.registry
    if handed_over is not None:
        directory = handed_over
        registry = _registry(
            metrics.families(), lambda: read_handed_over(directory), with_process=False
        )
        registry.register(cast("Collector", ProcessesCollector(pids)))
    server, thread = start_http_server(port, host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


class ProcessesCollector:
    """prometheus-client's process metrics (CPU, memory, file descriptors, start time) of
    several processes, each series labelled with its `pid`."""

    def __init__(self, pids: Sequence[int]) -> None:
        from prometheus_client.process_collector import ProcessCollector

        self._collectors = {
            pid: ProcessCollector(pid=_constant(pid), registry=None) for pid in pids
        }

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.metrics_core import Metric

        merged: dict[str, Metric] = {}
        for pid, collector in self._collectors.items():
            for family in collector.collect():  # empty once the process is gone
                into = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    into.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(merged.values())


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid
