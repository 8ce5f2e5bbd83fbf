"""A real `konnectd serve` process whose files the reload and shutdown tests change."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import LOOPBACK, browser, free_port, sign_in, wait_until_healthy
from tests.flows.test_bad_input import REDIRECT, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


class Konnectd:
    """`konnectd serve` with its log in a file, so tests can wait for log lines."""

    def __init__(self, cfg: Path, log: Path, url: str, workers: int, *, wait: bool = True) -> None:
        self.url = url
        self.workers = workers
        self.log = log
        env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "konnect", "serve", "--config", str(cfg)],
                env=env,
                stderr=stderr,
            )
        if wait:
            wait_until_healthy(url, self.process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, line: str, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.log_text().count(line) < count:
            assert time.monotonic() < deadline, f"no {count}x {line!r} in:\n{self.log_text()}"
            time.sleep(0.05)

    def reload(self) -> None:
        """`konnectd reload --pid`, then wait until every worker has finished reloading."""
        finished = self.reloads_finished()
        command = [sys.executable, "-m", "konnect", "reload", "--pid", str(self.process.pid)]
        assert subprocess.run(command, check=False, timeout=20).returncode == 0
        deadline = time.monotonic() + 20
        while self.reloads_finished() < finished + self.workers:
            assert time.monotonic() < deadline, self.log_text()
            time.sleep(0.05)

    def reloads_finished(self) -> int:
        text = self.log_text()
        return text.count("configuration reloaded") + text.count("RELOAD FAILED")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=30)
        text = self.log_text()
        # uvicorn logs the requests it cancels after --shutdown-timeout with their traceback.
        if "timeout graceful shutdown exceeded" not in text:
            assert "Traceback" not in text, text
        return status


@pytest.fixture
def start_konnectd(key_dir: Path, config_dir: Path) -> Iterator[Callable[..., Konnectd]]:
    started: list[Konnectd] = []

    def start(workers: int = 1, *lines: str, wait: bool = True) -> Konnectd:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cfg = config_dir / "konnectd.cfg"
        cfg.write_text(
            "\n".join(
                [
                    f"oidc_issuer_identifier = {url}",
                    f"listen = 127.0.0.1:{port}",
                    f"signing_private_key = {key_dir / 'rsa-key.pem'}",
                    f"encryption_secret_key = {key_dir / 'secret.key'}",
                    f"identifier_registration_conf = {config_dir / 'registry.yaml'}",
                    "identity_manager = users",
                    f"users_file = {config_dir / 'users.yaml'}",
                    f"data_dir = {config_dir / 'data'}",
                    f"workers = {workers}",
                    "log_level = info",
                    f"outgoing_allowed_networks = {' '.join(LOOPBACK)}",
                    *lines,
                    "",
                ]
            )
        )
        server = Konnectd(cfg, config_dir / "konnectd.log", url, workers, wait=wait)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@contextlib.contextmanager
def signed_in_browser(url: str) -> Iterator[httpx.Client]:
    with browser(url) as client:
        assert sign_in(client, url).status_code == 200
        yield client


def silent_code(client: httpx.Client, client_id: str = "trusted-app") -> str | None:
    """The code a signed-in browser gets with prompt=none, or None when refused."""
    response = client.get(
        AUTHORIZE + "?" + urlencode(good_params(client_id=client_id, prompt="none"))
    )
    if response.status_code != 302 or not response.headers["location"].startswith(REDIRECT):
        return None
    return parse_qs(urlsplit(response.headers["location"]).query).get("code", [None])[0]
