"""`--workers 2` on the default SQLite state store: the workers share one file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import api_headers, free_port
from tests.scaleout.test_multi_instance import Instance, redeem, userinfo
from tests.scaleout.test_redis_durability import offline_tokens, refresh


@pytest.fixture
def workers(key_dir: Path, config_dir: Path, tmp_path: Path) -> Iterator[Instance]:
    port = free_port()
    args = [
        "--signing-private-key", str(key_dir / "rsa-key.pem"),
        "--encryption-secret", str(key_dir / "secret.key"),
        "--identifier-registration-conf", str(config_dir / "registry.yaml"),
        "--data-dir", str(tmp_path / "data"), "--workers", "2",
        "users", str(config_dir / "users.yaml"),
    ]  # fmt: skip
    instance = Instance(f"http://127.0.0.1:{port}", port, args)
    yield instance
    instance.stop()


def test_workers_share_the_sqlite_store(workers: Instance, tmp_path: Path) -> None:
    assert (tmp_path / "data" / "konnect.db").is_file()
    statuses = [
        httpx.post(
            workers.url + "/signin/v1/identifier/_/logon",
            json={"state": "s", "params": ["jonas", "wrong", "1"]},
            headers=api_headers(workers.url),
        ).status_code
        for _ in range(12)
    ]
    assert statuses == [204] * 10 + [429, 429]  # one count across both workers


def test_concurrent_refreshes_across_workers(workers: Instance) -> None:
    tokens = offline_tokens(workers)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: refresh(workers, tokens["refresh_token"]), range(6)))
    assert [answer.status_code for answer in answers] == [200] * 6
    for answer in answers:
        assert userinfo(workers, answer.json()["access_token"]) == 200
    assert redeem(workers, "not-a-code").json()["error"] == "invalid_grant"
