"""SIGHUP (`konnectd reload`) re-reads the client registry and scopes of a running konnectd."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.flows.test_bad_input import code_request
from tests.reload.conftest import Konnectd, signed_in_browser, silent_code

NEW_CLIENT = {
    "id": "new-app",
    "name": "New App",
    "trusted": True,
    "application_type": "native",
    "redirect_uris": ["http://127.0.0.1:9999/cb"],
}


def redeem(url: str, code: str | None) -> str:
    assert code is not None
    tokens = httpx.post(
        url + "/konnect/v1/token", data=code_request(code), auth=("trusted-app", "trusted-secret")
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access_token"])


def change_registry(config_dir: Path, *, add: list[dict[str, object]], remove: set[str]) -> None:
    path = config_dir / "registry.yaml"
    registry = yaml.safe_load(path.read_text())
    clients = [client for client in registry["clients"] if client["id"] not in remove]
    registry["clients"] = clients + add
    # Written aside and renamed, as an editor or a configuration tool does.
    aside = path.with_suffix(".new")
    aside.write_text(yaml.safe_dump(registry))
    aside.replace(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_reload_adds_and_removes_clients_and_keeps_sessions(
    start_konnectd: Callable[..., Konnectd], config_dir: Path, workers: int
) -> None:
    server = start_konnectd(workers)
    with signed_in_browser(server.url) as client:
        assert silent_code(client, "new-app") is None
        access_token = redeem(server.url, silent_code(client))
        change_registry(config_dir, add=[NEW_CLIENT], remove={"legacy-app"})
        server.reload()
        assert "configuration reloaded" in server.log_text()
        userinfo = httpx.get(
            server.url + "/konnect/v1/userinfo",
            headers={"Authorization": "Bearer " + access_token},
        )
        assert userinfo.status_code == 200, "a token issued before the reload was refused"
        for _ in range(4):  # every worker
            assert silent_code(client) is not None, "the session ended"
            assert silent_code(client, "new-app") is not None, "the new client is unknown"
            refused = client.get(
                "/signin/v1/identifier/_/authorize?client_id=legacy-app&response_type=code"
                "&scope=openid&redirect_uri=http://127.0.0.1:9999/cb"
            )
            assert refused.status_code == 400, "the removed client is still known"


def test_broken_registry_is_reported_and_the_running_one_stays(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    server = start_konnectd()
    registry = config_dir / "registry.yaml"
    working = registry.read_text()
    with signed_in_browser(server.url) as client:
        registry.write_text(working + "\n  - id: [broken\n")
        server.reload()
        assert "RELOAD FAILED, the running configuration stays" in server.log_text()
        assert str(registry) in server.log_text(), "the problem names the file"
        assert silent_code(client) is not None
        registry.write_text(working)
        change_registry(config_dir, add=[], remove={"trusted-app"})
        server.reload()
        assert silent_code(client) is None, "a fixed registry is read on the next reload"


def test_broken_scopes_file_keeps_the_running_configuration(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    scopes = config_dir / "scopes.yaml"
    scopes.write_text("scopes:\n  extra:\n    description: Extra\n")
    server = start_konnectd(1, f"identifier_scopes_conf = {scopes}")
    scopes.write_text("scopes: [not, a, mapping\n")
    server.reload()
    assert "RELOAD FAILED" in server.log_text()
    with signed_in_browser(server.url) as client:
        assert silent_code(client) is not None


def test_reload_under_load_loses_no_request(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    server = start_konnectd(2)
    with contextlib.ExitStack() as stack:
        browsers = [stack.enter_context(signed_in_browser(server.url)) for _ in range(6)]
        results = _run_load_while_reloading(server, config_dir, browsers)
    assert server.log_text().count("configuration reloaded") == 4 * 2
    assert [failures for _, failures in results] == [[]] * len(browsers)
    assert sum(done for done, _ in results) > 50


def _run_load_while_reloading(
    server: Konnectd, config_dir: Path, browsers: list[httpx.Client]
) -> list[tuple[int, list[str]]]:
    stop = threading.Event()

    def load(client: httpx.Client) -> tuple[int, list[str]]:
        done, failures = 0, []
        while not stop.is_set():
            try:
                discovery = client.get("/.well-known/openid-configuration")
                code = silent_code(client)
            except httpx.HTTPError as error:
                failures.append(repr(error))
                continue
            if discovery.status_code != 200 or code is None:
                failures.append(f"discovery {discovery.status_code}, code {code}")
            done += 1
        return done, failures

    with ThreadPoolExecutor(len(browsers)) as pool:
        running = [pool.submit(load, client) for client in browsers]
        time.sleep(0.5)
        for round_ in range(4):
            added = {**NEW_CLIENT, "id": f"new-app-{round_}"}
            change_registry(config_dir, add=[added], remove={f"new-app-{round_ - 1}"})
            server.reload()
        stop.set()
        return [future.result(timeout=30) for future in running]


def test_reload_command_signals_only_a_konnectd_server() -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        command = [sys.executable, "-m", "konnect", "reload", "--pid", str(other.pid)]
        refused = subprocess.run(command, check=False, capture_output=True, timeout=20)
        assert refused.returncode == 1
        assert b"is not a running `konnectd serve`" in refused.stderr
        assert other.poll() is None, "the other process got the signal"
    finally:
        other.kill()
        other.wait()


def test_a_reload_asked_while_the_workers_start_is_not_lost(
    start_konnectd: Callable[..., Konnectd],
) -> None:
    server = start_konnectd(2, wait=False)
    # The parent says it listens as soon as it has forked; its workers are still starting.
    server.wait_for_log("konnect listening", 1)
    server.process.send_signal(signal.SIGHUP)
    server.wait_for_log("configuration reloaded", 2)
