"""konnect's Prometheus metrics and the listener that serves them.

prometheus_client picks single- or multi-process mode when it is first imported, from
PROMETHEUS_MULTIPROC_DIR; it is therefore imported only when metrics are built, after
`prepare_workers` had its say. With several workers each one writes its numbers to files
in that directory and the parent's listener adds them up; process metrics, which cannot be
added up, are read from /proc for each process and told apart by a `pid` label.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Latency buckets in seconds: sub-millisecond answers up to slow directories.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metrics:
    """Every metric konnect keeps, registered in a registry of their own."""

    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    sign_ins: Counter
    tokens: Counter
    token_reuse: Counter
    guests: Counter
    jitsi_tokens: Counter
    backend_seconds: Histogram
    backend_errors: Counter
    authority_seconds: Histogram
    authority_errors: Counter
    store_seconds: Histogram
    store_errors: Counter
    signing_seconds: Histogram


def build_metrics() -> Metrics:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector
    from prometheus_client.process_collector import ProcessCollector

    registry = CollectorRegistry(auto_describe=True)
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)

    def counter(name: str, text: str, *labels: str) -> Counter:
        return Counter(name, text, labels, namespace="konnect", registry=registry)

    def histogram(name: str, text: str, *labels: str) -> Histogram:
        return Histogram(
            name, text, labels, namespace="konnect", registry=registry, buckets=BUCKETS
        )

    return Metrics(
        registry=registry,
        requests=counter("http_requests", "HTTP requests answered", "route", "method", "status"),
        request_seconds=histogram(
            "http_request_duration_seconds", "time to answer HTTP requests", "route", "method"
        ),
        sign_ins=counter("sign_ins", "password sign-ins by outcome", "backend", "outcome"),
        tokens=counter("tokens_issued", "token responses", "grant_type", "client", "alg"),
        token_reuse=counter(
            "token_reuse_detected", "replayed codes and refresh tokens (grant revoked)", "kind"
        ),
        guests=counter("guest_tokens", "guests admitted by a client", "client"),
        jitsi_tokens=counter("jitsi_tokens", "Jitsi tokens minted", "kind"),
        backend_seconds=histogram(
            "backend_duration_seconds", "identity backend calls", "backend", "operation"
        ),
        backend_errors=counter(
            "backend_errors", "identity backend calls that failed", "backend", "operation"
        ),
        authority_seconds=histogram(
            "authority_duration_seconds", "calls to upstream authorities", "authority", "operation"
        ),
        authority_errors=counter(
            "authority_errors", "failed calls to upstream authorities", "authority", "operation"
        ),
        store_seconds=histogram("state_store_duration_seconds", "state store calls", "operation"),
        store_errors=counter("state_store_errors", "state store calls that failed", "operation"),
        signing_seconds=histogram("signing_duration_seconds", "time to sign tokens", "alg"),
    )


def prepare_workers() -> Callable[[], None]:
    """Switch to multi-process mode in a private directory (before metrics are built and
    workers forked); the returned function removes the directory."""
    directory = tempfile.mkdtemp(prefix="konnect-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    return lambda: shutil.rmtree(directory, ignore_errors=True)


def serve_metrics(
    metrics: Metrics, host: str, port: int, pids: Sequence[int] = ()
) -> Callable[[], None]:
    """Serve /metrics on host:port in a thread; returns the function that stops it. With
    several workers (`pids`: theirs and the parent's) each one's process metrics are read
    from /proc and labelled with its pid."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector
    from prometheus_client.platform_collector import PlatformCollector

    registry = metrics.registry
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        PlatformCollector(registry=registry)
        registry.register(cast("Collector", ProcessesCollector(pids)))
    server, thread = start_http_server(port, host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


class ProcessesCollector:
    """prometheus-client's process metrics (CPU, memory, file descriptors, start time) of
    several processes, each series labelled with its `pid`: multi-process mode has none."""

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
