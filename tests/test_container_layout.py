"""A Konnect compose layout: the image's entrypoint starts a real `konnectd serve`.

Docker secrets sit in a run/secrets folder and the client registry in an etc/kopano folder,
both under KONNECTD_ROOT; extra flags come through ARGS, as with Konnect's image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import browser, free_port, sign_in, wait_until_healthy
from tests.flows.test_bad_input import REDIRECT, code_request, good_params

ENTRYPOINT = Path(__file__).resolve().parents[1] / "scripts" / "docker-entrypoint.sh"
WARNINGS = ("NO SIGNING KEY CONFIGURED", "NO ENCRYPTION SECRET", "NO CLIENT REGISTRY")


@dataclass
class Container:
    url: str
    root: Path
    process: subprocess.Popen[bytes]
    log: str = ""

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        _, stderr = self.process.communicate(timeout=15)
        self.log = stderr.decode()
        return self.log


def container_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of the image: konnectd on PATH, nothing of the caller's KONNECTD_*."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "konnectd"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m konnect "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return {**env, **variables}


def start(tmp_path: Path, root: Path, users: Path, args: str) -> Container:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = container_env(
        tmp_path, KONNECTD_ROOT=str(root), KONNECTD_LISTEN=f"127.0.0.1:{port}", ARGS=args
    )
    command = [str(ENTRYPOINT), "serve", f"--iss={url}", "users", str(users)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    container = Container(url, root, process)
    try:
        wait_until_healthy(url, process)
    except AssertionError:
        raise AssertionError(container.stop()) from None
    return container


@pytest.fixture
def compose_root(tmp_path: Path, key_dir: Path, config_dir: Path) -> Path:
    root = tmp_path / "root"
    secrets = root / "run" / "secrets"
    package = root / "etc" / "kopano"
    secrets.mkdir(parents=True)
    package.mkdir(parents=True)
    shutil.copy(key_dir / "rsa-key.pem", secrets / "konnectd_signing_private_key")
    shutil.copy(key_dir / "secret.key", secrets / "konnectd_encryption_secret")
    shutil.copy(config_dir / "registry.yaml", package / "konnectd-identifier-registration.yaml")
    return root


@pytest.fixture
def container(tmp_path: Path, compose_root: Path, config_dir: Path) -> Iterator[Container]:
    running = start(
        tmp_path, compose_root, config_dir / "users.yaml", "--allow-dynamic-client-registration"
    )
    yield running
    running.stop()


def test_compose_layout_signs_in_with_its_secrets_and_registry(container: Container) -> None:
    discovery = httpx.get(container.url + "/.well-known/openid-configuration").json()
    assert "registration_endpoint" in discovery  # from ARGS
    jwks = httpx.get(discovery["jwks_uri"]).json()
    assert "konnectd_signing_private_key" in [key["kid"] for key in jwks["keys"]]
    with browser(container.url) as client:
        assert sign_in(client, container.url).status_code == 200
        response = client.get(
            "/signin/v1/identifier/_/authorize?" + urlencode(good_params(prompt="none"))
        )
    assert response.status_code == 302
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    assert response.headers["location"].startswith(REDIRECT)
    tokens = httpx.post(
        discovery["token_endpoint"],
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200, tokens.text


def test_startup_logs_each_file_it_uses(container: Container) -> None:
    log = container.stop()
    secrets = container.root / "run" / "secrets"
    assert f"signing key: {secrets / 'konnectd_signing_private_key'}" in log
    assert f"encryption secret: {secrets / 'konnectd_encryption_secret'}" in log
    registry = container.root / "etc" / "kopano" / "konnectd-identifier-registration.yaml"
    assert f"client registry: {registry}" in log
    assert not [warning for warning in WARNINGS if warning in log]


def test_without_secrets_or_registry_startup_warns_what_is_missing(
    tmp_path: Path, config_dir: Path
) -> None:
    empty_root = tmp_path / "empty"
    empty_root.mkdir()
    running = start(tmp_path, empty_root, config_dir / "users.yaml", "")
    log = running.stop()
    assert [warning for warning in WARNINGS if warning in log] == list(WARNINGS)
    assert "every token becomes invalid on restart" in log
    assert "every browser session ends on restart" in log
    assert "every client is unknown" in log


def test_entrypoint_runs_other_commands_as_given_and_appends_args(tmp_path: Path) -> None:
    env = container_env(tmp_path, ARGS="--two=2 *")
    printed = subprocess.run(
        [str(ENTRYPOINT), "printf", "%s\\n", "one"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert printed.stdout.decode().split() == ["one", "--two=2", "*"]
    version = subprocess.run(
        [str(ENTRYPOINT), "version"], env=container_env(tmp_path), capture_output=True, check=True
    )
    assert version.stdout.startswith(b"Version: ")
