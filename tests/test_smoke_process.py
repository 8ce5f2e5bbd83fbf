"""The real `konnectd serve` process on a loopback port: start, sign in, get tokens, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import browser, free_port, sign_in
from tests.flows.test_bad_input import REDIRECT, code_request, good_params


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"konnectd exited with {process.returncode}")
        try:
            if httpx.get(url + "/health-check", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("konnectd did not become healthy")


@pytest.fixture
def konnectd(key_dir: Path, config_dir: Path) -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = config_dir / "konnectd.cfg"
    cfg.write_text(
        "\n".join(
            [
                "# written by the smoke test",
                f"oidc_issuer_identifier = {url}",
                f"listen = 127.0.0.1:{port}",
                f"signing_private_key = {key_dir / 'rsa-key.pem'}",
                f"encryption_secret_key = {key_dir / 'secret.key'}",
                f"identifier_registration_conf = {config_dir / 'registry.yaml'}",
                "identity_manager = users",
                f"users_file = {config_dir / 'users.yaml'}",
                "log_level = warn",
                "",
            ]
        )
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "konnect", "serve", "--config", str(cfg)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(url, process)
        yield url, []
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        assert b"Traceback" not in stderr, stderr.decode()


def test_real_process_signs_in_and_issues_tokens(konnectd: tuple[str, list[str]]) -> None:
    url, _ = konnectd
    discovery = httpx.get(url + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == url
    with browser(url) as client:
        assert sign_in(client, url).status_code == 200
        response = client.get(
            "/signin/v1/identifier/_/authorize?" + urlencode(good_params(prompt="none"))
        )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = httpx.post(
        discovery["token_endpoint"],
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    userinfo = httpx.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": "Bearer " + tokens.json()["access_token"]},
    )
    assert userinfo.json()["preferred_username"] == "jonas"
