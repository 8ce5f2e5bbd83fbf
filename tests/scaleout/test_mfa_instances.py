"""Two konnect instances (two worker processes each) sharing Redis and a PostgreSQL credential
store: an authenticator app set up at one signs in at the other, and each of its codes is
accepted once across both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from konnect.mfa.totp import totp_code
from tests.conftest import Clock, RedisServer, browser, sign_in
from tests.flows.test_mfa_signin import enrol, post
from tests.scaleout.test_multi_instance import Instance
from tests.scaleout.test_multi_instance import redis as redis
from tests.scaleout.test_redis_durability import start_pair


@pytest.fixture
def mfa_pair(
    redis: RedisServer, postgres_url: str, key_dir: Path, config_dir: Path
) -> Iterator[list[Instance]]:
    options = ["--mfa", "required", "--credential-store", postgres_url]
    instances = start_pair(redis, key_dir, config_dir, *options)
    yield instances
    for instance in instances:
        instance.stop()


def answer(instance: Instance, client: httpx.Client, code: str) -> bool:
    response = post(client, "mfa", method="totp", code=code)
    assert response.status_code == 200, (instance.url, response.text)
    return bool(response.json()["success"])


def test_a_factor_set_up_at_one_instance_signs_in_once_across_both(
    mfa_pair: list[Instance],
) -> None:
    first, second = mfa_pair
    with browser(first.url) as setting_up:
        seed, _ = enrol(setting_up, Clock(time.time()))
    clients = [browser(first.url), browser(second.url)]
    try:
        for instance, client in zip(mfa_pair, clients, strict=True):
            asked = sign_in(client, instance.url).json()["hello"]["mfa"]
            assert asked == {"methods": ["totp", "recovery"], "enrol": False}
        # The next step's code: the current one was used to confirm the set-up. Both
        # instances are given it at the same time; one accepts it.
        code = totp_code(seed, time.time() + 30)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(answer, mfa_pair, clients, [code, code]))
        assert sorted(results) == [False, True]
    finally:
        for client in clients:
            client.close()
