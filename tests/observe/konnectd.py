"""`konnectd serve` as a real process with metrics, an audit log and debug logging on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import LOOPBACK, audit_lines, free_port, wait_until_healthy

#: The registry's confidential client for the client_credentials grant.
SERVICE = ("service-app", "service-secret")


@dataclass
class Konnectd:
    url: str
    metrics_url: str
    audit_file: Path
    log_file: Path
    pid: int = 0

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8")

    def audit_events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in audit_lines(self.audit_file)]

    def samples(self, name: str) -> list[Sample]:
        """The samples named `name` of one scrape."""
        text = httpx.get(self.metrics_url, timeout=5).text
        families = text_string_to_metric_families(text)
        return [sample for family in families for sample in family.samples if sample.name == name]

    def metric(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels, 0 when absent."""
        found = [sample.value for sample in self.samples(name) if sample.labels == labels]
        return float(found[0]) if found else 0.0


@contextmanager
def konnectd(key_dir: Path, config_dir: Path, *options: str) -> Iterator[Konnectd]:
    port, metrics_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    running = Konnectd(
        url,
        f"http://127.0.0.1:{metrics_port}/metrics",
        config_dir / "audit.jsonl",
        config_dir / "konnectd.log",
    )
    command = [
        *(sys.executable, "-m", "konnect", "serve", "--iss", url),
        *("--listen", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{metrics_port}"),
        *("--signing-private-key", str(key_dir / "rsa-key.pem")),
        *("--encryption-secret", str(key_dir / "secret.key")),
        *("--identifier-registration-conf", str(config_dir / "registry.yaml")),
        *("--data-dir", str(config_dir / "data"), "--log-level", "debug"),
        *("--audit-log", str(running.audit_file)),
        *(f"--allow-outgoing-network={network}" for network in LOOPBACK),
        *options,
        *("users", str(config_dir / "users.yaml")),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    with running.log_file.open("wb") as log:
        process = subprocess.Popen(command, env=env, stderr=log)
        running.pid = process.pid
        try:
            wait_until_healthy(url, process)
            yield running
        finally:
            process.terminate()
            process.wait(timeout=15)


def client_credentials(base: str) -> None:
    """One client_credentials token request, on a connection of its own (with several
    workers, the requests spread over them)."""
    answer = httpx.post(
        base + "/konnect/v1/token", data={"grant_type": "client_credentials"}, auth=SERVICE
    )
    assert answer.status_code == 200
