"""What konnect relies on Redis for: a warning when Redis may forget, refresh tokens refused
after it did, no double effect when Redis freezes, and userinfo's choice during an outage."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import RedisServer, browser, free_port, sign_in
from tests.flows.test_bad_input import good_params
from tests.scaleout.test_multi_instance import AUTHORIZE, Instance, code_from, redeem, userinfo

AUTH = ("trusted-app", "trusted-secret")


def start_pair(
    redis: RedisServer, key_dir: Path, config_dir: Path, *extra: str, log: Path | None = None
) -> list[Instance]:
    ports = [free_port(), free_port()]
    args = [
        "--signing-private-key", str(key_dir / "rsa-key.pem"),
        "--encryption-secret", str(key_dir / "secret.key"),
        "--identifier-registration-conf", str(config_dir / "registry.yaml"),
        "--state-store", redis.url, "--workers", "2", *extra,
        "users", str(config_dir / "users.yaml"),
    ]  # fmt: skip
    issuer = f"http://127.0.0.1:{ports[0]}"
    return [Instance(issuer, port, args, log if index == 0 else None)
            for index, port in enumerate(ports)]  # fmt: skip


@pytest.fixture
def forgetful_redis() -> Iterator[RedisServer]:
    """Redis as often installed: no persistence, and evicting keys when full."""
    server = RedisServer(free_port(), "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
    server.start()
    yield server
    server.stop()


def offline_tokens(instance: Instance) -> dict[str, str]:
    params = good_params(prompt="none", scope="openid offline_access")
    with browser(instance.url) as client:
        assert sign_in(client, instance.url).status_code == 200
        response = client.get(instance.url + AUTHORIZE + "?" + urlencode(params))
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = redeem(instance, code)
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def refresh(instance: Instance, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return httpx.post(instance.url + "/konnect/v1/token", data=data, auth=AUTH, timeout=10)


def test_a_forgetful_redis_is_reported_and_its_data_loss_refuses_refresh_tokens(
    forgetful_redis: RedisServer, key_dir: Path, config_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "konnectd.log"
    pair = start_pair(
        forgetful_redis, key_dir, config_dir,
        "--log-level", "warn", "--refresh-token-reuse-interval", "0", log=log,
    )  # fmt: skip
    try:
        first, second = pair
        tokens = offline_tokens(first)
        rotated = refresh(second, tokens["refresh_token"])
        assert rotated.status_code == 200
        replay = refresh(first, tokens["refresh_token"])  # a thief's replay revokes the family
        assert replay.status_code == 400
        forgetful_redis.stop()
        forgetful_redis.start()  # and forgets everything
        for token in (tokens["refresh_token"], rotated.json()["refresh_token"]):
            for instance in pair:
                again = refresh(instance, token)
                assert again.status_code == 400, again.text
                assert again.json()["error"] == "invalid_grant"
    finally:
        for instance in pair:
            instance.stop()
    text = log.read_text()
    assert "Redis persistence is off (appendonly no)" in text
    assert "Redis maxmemory-policy is allkeys-lru" in text


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def test_a_code_redemption_answered_503_during_a_redis_freeze_can_be_retried(
    redis: RedisServer, key_dir: Path, config_dir: Path
) -> None:
    pair = start_pair(redis, key_dir, config_dir)
    assert redis.process is not None
    try:
        first, second = pair
        with browser(first.url) as client:
            assert sign_in(client, first.url).status_code == 200
            for _ in range(3):
                code = code_from(first, client)
                os.kill(redis.process.pid, signal.SIGSTOP)
                try:
                    frozen = redeem(first, code)
                finally:
                    os.kill(redis.process.pid, signal.SIGCONT)
                assert frozen.status_code == 503, frozen.text
                assert frozen.json()["error"] == "temporarily_unavailable"
                retry = redeem(second, code)
                assert retry.status_code == 200, retry.text
                assert userinfo(first, retry.json()["access_token"]) == 200
                replay = redeem(first, code)  # once answered, a further use is a replay
                assert replay.json()["error"] == "invalid_grant"
                assert userinfo(second, retry.json()["access_token"]) == 401
    finally:
        for instance in pair:
            instance.stop()


@pytest.mark.parametrize(("mode", "status"), [("strict", 503), ("available", 200)])
def test_userinfo_during_a_redis_outage_follows_the_setting(
    redis: RedisServer, key_dir: Path, config_dir: Path, mode: str, status: int
) -> None:
    pair = start_pair(redis, key_dir, config_dir, "--userinfo-revocation-check", mode)
    try:
        first, second = pair
        revoked = offline_tokens(first)
        httpx.post(
            first.url + "/konnect/v1/revoke", data={"token": revoked["access_token"]}, auth=AUTH
        )
        assert userinfo(second, revoked["access_token"]) == 401
        assert redis.process is not None
        os.kill(redis.process.pid, signal.SIGSTOP)
        try:
            statuses = [userinfo(instance, revoked["access_token"]) for instance in pair]
        finally:
            os.kill(redis.process.pid, signal.SIGCONT)
        assert statuses == [status, status]
        for instance in pair:
            assert userinfo(instance, revoked["access_token"]) == 401
    finally:
        for instance in pair:
            instance.stop()
