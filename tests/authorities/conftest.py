"""A real upstream OpenID provider (node-oidc-provider, tests/upstream) on a loopback port,
and a konnect whose registry names it under `authorities:`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.conftest import RunningServer, free_port

PROVIDER = Path(__file__).resolve().parents[1] / "upstream" / "provider.mjs"
CALLBACK = "/signin/v1/identifier/oauth2/cb"


@dataclass
class Upstream:
    """node-oidc-provider serving konnect as its client `konnect`."""

    port: int
    redirect_uri: str
    key: RSAKey
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        jwk_file = self.folder / "upstream-jwk.json"
        jwk_file.write_text(json.dumps(self.key.as_dict(private=True)))
        self.process = subprocess.Popen(
            ["node", str(PROVIDER), str(self.port), self.redirect_uri, str(jwk_file)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.issuer + "/.well-known/openid-configuration").is_success:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the upstream provider did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def upstream_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "upstream-1", "alg": "RS256", "use": "sig"})


@dataclass
class Federation:
    konnect: RunningServer
    upstream: Upstream


def authority_entry(upstream: Upstream, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "corp",
        "name": "Corporate",
        "authority_type": "oidc",
        "iss": upstream.issuer,
        "client_id": "konnect",
        "client_secret": "upstream-secret",
        "insecure": True,
        "default": True,
        "identity_aliases": {"j.brekke@corp.example": "jonas"},
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.fixture
def federation_factory(
    server_factory: Callable[..., RunningServer],
    config_dir: Path,
    tmp_path: Path,
    upstream_key: RSAKey,
) -> Iterator[Callable[..., Federation]]:
    """Starts an upstream and a konnect with the authorities `entries(upstream)` returns."""
    started: list[Upstream] = []

    def start(
        entries: Callable[[Upstream], list[dict[str, object]]] = lambda up: [authority_entry(up)],
        **changes: object,
    ) -> Federation:
        port = free_port()
        upstream = Upstream(
            free_port(), f"http://127.0.0.1:{port}{CALLBACK}", upstream_key, tmp_path
        )
        upstream.start()
        started.append(upstream)
        registry = config_dir / "registry.yaml"
        section = json.dumps({"authorities": entries(upstream)})
        registry.write_text(registry.read_text() + "\n" + section.removeprefix("{")[:-1] + "\n")
        return Federation(server_factory(port=port, **changes), upstream)

    yield start
    for upstream in started:
        upstream.stop()


def follow(client: httpx.Client, location: str, until: str) -> str:
    """Follows redirects from `location` until one leads to a URL starting with `until`."""
    for _ in range(12):
        if location.startswith(until):
            return location
        response = client.get(location)
        assert response.status_code in (302, 303), (location, response.status_code, response.text)
        location = str(response.url.join(response.headers["location"]))
    raise AssertionError(f"no redirect to {until}")


def path_of(url: str) -> str:
    return urlsplit(url).path
