"""Workers report their metrics together, each its process metrics by pid, and JSON log
lines tie in with answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from konnect.observe.metrics import HAND_OVER_SECONDS
from tests.observe.konnectd import Konnectd, client_credentials, konnectd
from tests.observe.test_scripted_session import NO_REUSE_GRACE, run_session


def test_workers_report_their_metrics_together(key_dir: Path, config_dir: Path) -> None:
    labels = {"grant_type": "client_credentials", "client": "service-app", "alg": "PS256"}
    route = {"route": "/konnect/v1/token", "method": "POST"}

    def numbers(server: Konnectd) -> tuple[float, float, float]:
        return (
            server.metric("konnect_tokens_issued_total", **labels),
            server.metric("konnect_http_requests_total", **route, status="200"),
            server.metric("konnect_http_request_duration_seconds_count", **route),
        )

    with konnectd(key_dir, config_dir, "--workers", "2") as server:
        for _ in range(12):
            client_credentials(server.url)
        # Each worker hands its numbers over every second.
        deadline = time.monotonic() + 10 * HAND_OVER_SECONDS
        while numbers(server) != (12, 12, 12) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert numbers(server) == (12, 12, 12)
        time.sleep(2 * HAND_OVER_SECONDS)
        assert numbers(server) == (12, 12, 12)


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_each_workers_process_metrics_are_reported_by_pid(key_dir: Path, config_dir: Path) -> None:
    with konnectd(key_dir, config_dir, "--workers", "2") as server:

        def cpu() -> dict[int, float]:
            samples = server.samples("process_cpu_seconds_total")
            return {int(sample.labels["pid"]): sample.value for sample in samples}

        before = cpu()
        workers = set(before) - {server.pid}
        assert len(before) == 3
        assert len(workers) == 2
        assert {_parent_of(pid) for pid in workers} == {server.pid}
        memory = server.samples("process_resident_memory_bytes")
        assert {int(sample.labels["pid"]) for sample in memory} == set(before)
        assert all(sample.value > 10_000_000 for sample in memory)
        for _ in range(40):
            client_credentials(server.url)
        after = cpu()
    assert sum(after[pid] for pid in workers) > sum(before[pid] for pid in workers)


def test_json_log_lines_carry_the_request_id(key_dir: Path, config_dir: Path) -> None:
    with konnectd(key_dir, config_dir, "--log-format", "json", *NO_REUSE_GRACE) as server:
        _, request_ids = run_session(server)
        lines = [json.loads(line) for line in server.log_text().splitlines()]
    replay = [line for line in lines if line["request_id"] == request_ids[5]]
    assert [line["level"] for line in replay] == ["warning"]
    assert "refresh token reused" in replay[0]["message"]
