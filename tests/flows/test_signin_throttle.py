"""Password guessing is throttled: attempts are counted before the password is checked, per
user name in any spelling, and per client address; strangers cannot lock a user out of a
browser the user signed in with before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, RunningServer, api_headers, browser, free_port, sign_in
from tests.scaleout.test_multi_instance import Instance

LOGON = "/signin/v1/identifier/_/logon"


def attempt(server: RunningServer, username: str, password: str = "wrong") -> int:
    response = httpx.post(
        server.url + LOGON,
        json={"state": "s", "params": [username, password, "1"]},
        headers=api_headers(server.url),
    )
    return response.status_code


def test_concurrent_guesses_are_counted_before_they_are_checked(server: RunningServer) -> None:
    async def guesses() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            body = {"state": "s", "params": ["jonas", "wrong", "1"]}
            responses = await asyncio.gather(
                *(client.post(LOGON, json=body, headers=api_headers(server.url)) for _ in range(16))
            )
        return [response.status_code for response in responses]

    statuses = asyncio.run(guesses())
    assert statuses.count(204) == 10
    assert statuses.count(429) == 6


def test_other_spellings_of_a_name_share_its_count(server: RunningServer) -> None:
    for _ in range(10):
        assert attempt(server, "jonas") == 204
    for spelling in ("JONAS", "jona\u017f", " Jonas ", "\uff4a\uff4f\uff4e\uff41\uff53"):
        assert attempt(server, spelling) == 429


def test_strangers_cannot_lock_a_user_out_of_a_browser_used_before(
    server: RunningServer,
) -> None:
    with browser(server.url) as own:
        assert sign_in(own, server.url).status_code == 200
        statuses = [attempt(server, "jonas") for _ in range(12)]
        assert statuses[-1] == 429
        assert sign_in(own, server.url).status_code == 200
        assert attempt(server, "jonas", PASSWORD) == 429  # a browser never used before waits


def test_a_known_browser_guessing_is_throttled_too(server: RunningServer) -> None:
    with browser(server.url) as own:
        assert sign_in(own, server.url).status_code == 200
        statuses = []
        for _ in range(11):
            response = own.post(
                LOGON,
                json={"state": "s", "params": ["jonas", "wrong", "1"]},
                headers=api_headers(server.url),
            )
            statuses.append(response.status_code)
    assert statuses == [204] * 10 + [429]


def test_one_address_guessing_many_names_is_throttled(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(sign_in_attempts_per_address=5)
    statuses = [attempt(server, f"user{number}") for number in range(6)]
    assert statuses == [204] * 5 + [429]


def test_right_passwords_do_not_use_up_the_budget(server: RunningServer) -> None:
    for _ in range(12):
        with browser(server.url) as fresh:
            assert sign_in(fresh, server.url).status_code == 200
    assert attempt(server, "jonas") == 204


def konnectd_process(key_dir: Path, config_dir: Path, *extra: str) -> Instance:
    port = free_port()
    args = [
        "--signing-private-key", str(key_dir / "rsa-key.pem"),
        "--encryption-secret", str(key_dir / "secret.key"),
        "--sign-in-attempts-per-address", "3",
        "--data-dir", str(config_dir / f"data-{port}"),  # its own counts, not the checkout's
        *extra,
        "users", str(config_dir / "users.yaml"),
    ]  # fmt: skip
    return Instance(f"http://127.0.0.1:{port}", port, args)


def guesses_from(instance: Instance, addresses: list[str]) -> list[int]:
    statuses = []
    for number, address in enumerate(addresses):
        response = httpx.post(
            instance.url + LOGON,
            json={"state": "s", "params": [f"user{number}", "wrong", "1"]},
            headers={**api_headers(instance.url), "X-Forwarded-For": address},
        )
        statuses.append(response.status_code)
    return statuses


def test_the_address_is_the_peer_unless_a_trusted_proxy_forwards(
    key_dir: Path, config_dir: Path
) -> None:
    addresses = [f"198.51.100.{number}" for number in range(4)]
    direct = konnectd_process(key_dir, config_dir)
    try:
        assert guesses_from(direct, addresses) == [204, 204, 204, 429]  # a header is no escape
    finally:
        direct.stop()
    proxied = konnectd_process(key_dir, config_dir, "--trusted-proxy", "127.0.0.1")
    try:
        assert guesses_from(proxied, addresses) == [204] * 4
        assert guesses_from(proxied, ["203.0.113.9"] * 4) == [204, 204, 204, 429]
    finally:
        proxied.stop()
