"""Two konnect processes sharing one Redis behave as one provider, and survive Redis outages."""

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

from tests.conftest import RedisServer, api_headers, browser, free_port, sign_in
from tests.flows.test_bad_input import code_request, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


class Instance:
    def __init__(self, issuer: str, port: int, args: list[str], log: Path | None = None) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
        command = [sys.executable, "-m", "konnect", "serve", "--iss", issuer]
        command += ["--listen", f"127.0.0.1:{port}", "--log-level", "error", *args]
        if log is None:
            self.process = subprocess.Popen(command, env=env)
        else:
            with log.open("wb") as stderr:
                self.process = subprocess.Popen(command, env=env, stderr=stderr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "konnectd exited"
            try:
                if httpx.get(self.url + "/health-check", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("konnectd did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


def start_instances(key_dir: Path, config_dir: Path, *options: str) -> list[Instance]:
    """Two instances with the tests' keys, clients and users file, one issuer, and `options`
    (where they keep their state)."""
    ports = [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"
    args = [
        "--signing-private-key", str(key_dir / "rsa-key.pem"),
        "--encryption-secret", str(key_dir / "secret.key"),
        "--identifier-registration-conf", str(config_dir / "registry.yaml"),
        *options,
        "users", str(config_dir / "users.yaml"),
    ]  # fmt: skip
    return [Instance(issuer, port, args) for port in ports]


@pytest.fixture
def pair(redis: RedisServer, key_dir: Path, config_dir: Path) -> Iterator[list[Instance]]:
    instances = start_instances(key_dir, config_dir, "--state-store", redis.url)
    yield instances
    for instance in instances:
        instance.stop()


def code_from(instance: Instance, client: httpx.Client) -> str:
    response = client.get(instance.url + AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def redeem(instance: Instance, code: str) -> httpx.Response:
    return httpx.post(
        instance.url + "/konnect/v1/token",
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )


def userinfo(instance: Instance, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(instance.url + "/konnect/v1/userinfo", headers=headers).status_code


def test_two_instances_behave_as_one(pair: list[Instance]) -> None:
    first, second = pair
    with browser(first.url) as client:
        assert sign_in(client, first.url).status_code == 200
        code = code_from(second, client)  # signed in through one, signed in on all
    tokens = redeem(second, code)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    assert userinfo(first, access) == 200
    replay = redeem(first, code)  # a code is redeemed once, on any instance
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert userinfo(first, access) == 401  # ...and the reuse revoked it everywhere
    assert userinfo(second, access) == 401


def test_login_throttling_is_shared(pair: list[Instance]) -> None:
    statuses = []
    for attempt in range(12):
        instance = pair[attempt % 2]
        response = httpx.post(
            instance.url + "/signin/v1/identifier/_/logon",
            json={"state": "s", "params": ["jonas", "wrong", "1"]},
            headers=api_headers(instance.url),
        )
        statuses.append(response.status_code)
    assert statuses == [204] * 10 + [429, 429]


def test_redis_outage_fails_closed_and_recovers(pair: list[Instance], redis: RedisServer) -> None:
    first, second = pair
    with browser(first.url) as client:
        assert sign_in(client, first.url).status_code == 200
        tokens = redeem(first, code_from(first, client)).json()
        pending = code_from(first, client)
        redis.stop()
        # a sign-in cannot be checked against sign-outs, nor a code redeemed
        down = client.get(second.url + AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
        down_error = parse_qs(urlsplit(down.headers["location"]).query)["error"]
        assert down_error == ["temporarily_unavailable"]
        unavailable = redeem(second, pending)
        assert unavailable.status_code == 503
        assert unavailable.json()["error"] == "temporarily_unavailable"
        logon = httpx.post(
            first.url + "/signin/v1/identifier/_/logon",
            json={"state": "s", "params": ["jonas", "whatever", "1"]},
            headers=api_headers(first.url),
        )
        assert logon.status_code == 503
        for instance in pair:
            assert httpx.get(instance.url + "/.well-known/openid-configuration").status_code == 200
            assert httpx.get(instance.url + "/konnect/v1/jwks.json").status_code == 200
            assert userinfo(instance, tokens["access_token"]) == 503  # strict by default
        redis.start()
        recovered = redeem(first, code_from(first, client))
        assert recovered.status_code == 200, recovered.text


def test_rotated_refresh_token_cannot_be_replayed_on_the_other_instance(
    pair: list[Instance],
) -> None:
    first, second = pair
    with browser(first.url) as client:
        assert sign_in(client, first.url).status_code == 200
        response = client.get(
            first.url
            + AUTHORIZE
            + "?"
            + urlencode(good_params(prompt="none", scope="openid offline_access"))
        )
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = redeem(first, code).json()
    auth = ("trusted-app", "trusted-secret")
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    rotated = httpx.post(first.url + "/konnect/v1/token", data=data, auth=auth)
    assert rotated.status_code == 200
    newer = {**data, "refresh_token": rotated.json()["refresh_token"]}
    assert httpx.post(second.url + "/konnect/v1/token", data=newer, auth=auth).status_code == 200
    # two generations back: outside what the reuse interval answers
    replay = httpx.post(second.url + "/konnect/v1/token", data=data, auth=auth)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_a_sign_out_at_one_instance_holds_at_the_other(pair: list[Instance]) -> None:
    first, second = pair
    with browser(first.url) as client:
        assert sign_in(client, first.url).status_code == 200
        copied = dict(client.cookies.items())
        logoff = client.post(
            first.url + "/signin/v1/identifier/_/logoff",
            json={"state": "s"},
            headers=api_headers(first.url),
        )
        assert logoff.status_code == 200
    with browser(second.url) as thief:
        for name, value in copied.items():
            thief.cookies.set(name, value)
        response = thief.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["login_required"]
