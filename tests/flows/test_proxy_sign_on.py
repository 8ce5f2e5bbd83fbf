"""Single sign-on through a trusted reverse proxy: X-Forwarded-User names the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import PASSWORD, RunningServer, api_headers, browser
from tests.flows.test_bad_input import good_params
from tests.flows.test_consent_and_prompts import claims_of, exchange, query_of

AUTHORIZE = "/signin/v1/identifier/_/authorize"
LOGON = "/signin/v1/identifier/_/logon"
HELLO = "/signin/v1/identifier/_/hello"


@pytest.fixture
def proxied(server_factory: Callable[..., RunningServer]) -> RunningServer:
    # The tests reach the server from 127.0.0.1, which plays the reverse proxy here.
    return server_factory(trusted_proxies=("127.0.0.0/8",), forwarded_user_sign_in=True)


def hello(client: httpx.Client, base: str, user: str | None, **fields: str) -> httpx.Response:
    headers = api_headers(base)
    if user is not None:
        headers["X-Forwarded-User"] = user
    body = {"state": "h1", "flow": "oidc", **fields}
    return client.post(HELLO, json=body, headers=headers)


def logon(client: httpx.Client, base: str, user: str, params: list[str]) -> httpx.Response:
    headers = {**api_headers(base), "X-Forwarded-User": user}
    return client.post(
        LOGON, json={"state": "l1", "params": params, "hello": None}, headers=headers
    )


def test_a_user_vouched_for_by_a_trusted_proxy_is_signed_in_and_gets_a_code(
    proxied: RunningServer,
) -> None:
    with browser(proxied.url) as client:
        answer = hello(
            client,
            proxied.url,
            "jonas",
            client_id="trusted-app",
            redirect_uri=good_params()["redirect_uri"],
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["username"] == "jonas"
        assert answer.json()["displayName"] == "Jonas Brekke"
        redirect = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    code = query_of(redirect.headers["location"])["code"][0]
    id_token = claims_of(exchange(proxied, code)["id_token"])
    assert id_token["name"] == "Jonas Brekke"
    assert "amr" not in id_token  # konnect did not see how the proxy authenticated the user


@pytest.mark.parametrize("user", ["nobody", "timmothy", ""])
def test_unknown_disabled_or_empty_forwarded_users_are_not_signed_in(
    proxied: RunningServer, user: str
) -> None:
    with browser(proxied.url) as client:
        assert hello(client, proxied.url, user).status_code == 204


def test_prompt_login_ignores_the_proxy(proxied: RunningServer) -> None:
    with browser(proxied.url) as client:
        assert hello(client, proxied.url, "jonas", prompt="login").status_code == 204


def test_the_header_from_an_untrusted_peer_is_ignored(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert hello(client, server.url, "jonas").status_code == 204
        refused = logon(client, server.url, "jonas", ["jonas", "", "1"])
        assert refused.status_code == 204


def test_a_trusted_proxy_alone_does_not_sign_anyone_in(
    server_factory: Callable[..., RunningServer],
) -> None:
    # Konnect's cfg key trusted_proxies never took effect: copied over, it must not turn
    # a header anybody can send through the proxy into a sign-in.
    server = server_factory(trusted_proxies=("127.0.0.0/8",))
    with browser(server.url) as client:
        assert hello(client, server.url, "jonas").status_code == 204
        refused = logon(client, server.url, "jonas", ["jonas", "", "1"])
        assert refused.status_code == 204


def test_logon_through_the_proxy_needs_no_password_but_only_for_that_user(
    proxied: RunningServer,
) -> None:
    with browser(proxied.url) as client:
        assert logon(client, proxied.url, "jonas", ["jonas", "", "1"]).status_code == 200
    with browser(proxied.url) as client:
        # Someone else's name with the right password: the proxy said who this is.
        other = logon(client, proxied.url, "alice", ["jonas", PASSWORD, "1"])
        assert other.status_code == 204
