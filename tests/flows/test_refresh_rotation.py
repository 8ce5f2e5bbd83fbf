"""Refresh tokens rotate on use with reuse detection; Konnect-style reusable ones per client."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params

TOKEN = "/konnect/v1/token"


def first_tokens(server: RunningServer, client_id: str, secret: str) -> dict[str, str]:
    params = good_params(client_id=client_id, prompt="none", scope="openid offline_access")
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get("/signin/v1/identifier/_/authorize?" + urlencode(params))
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = httpx.post(server.url + TOKEN, data=code_request(code), auth=(client_id, secret))
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def refresh(
    server: RunningServer, token: str, auth: tuple[str, str], **extra: str
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return httpx.post(server.url + TOKEN, data=data, auth=auth)


def userinfo_status(server: RunningServer, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return httpx.get(server.url + "/konnect/v1/userinfo", headers=headers).status_code


def test_refresh_tokens_rotate_and_a_replay_revokes_the_family(server: RunningServer) -> None:
    auth = ("trusted-app", "trusted-secret")
    tokens = first_tokens(server, *auth)
    second = refresh(server, tokens["refresh_token"], auth)
    assert second.status_code == 200, second.text
    rotated = second.json()["refresh_token"]
    assert rotated != tokens["refresh_token"]
    third = refresh(server, rotated, auth)
    assert third.status_code == 200
    latest = third.json()
    assert userinfo_status(server, latest["access_token"]) == 200

    replay = refresh(server, tokens["refresh_token"], auth)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # the whole family is gone: the newest refresh token and its access token too
    assert refresh(server, latest["refresh_token"], auth).status_code == 400
    assert userinfo_status(server, latest["access_token"]) == 401


def test_konnect_style_clients_keep_reusable_refresh_tokens(server: RunningServer) -> None:
    auth = ("legacy-app", "legacy-secret")
    tokens = first_tokens(server, *auth)
    for _ in range(3):
        again = refresh(server, tokens["refresh_token"], auth)
        assert again.status_code == 200, again.text
        assert "refresh_token" not in again.json()


def test_narrower_scope_works_and_wider_scope_is_refused(server: RunningServer) -> None:
    auth = ("legacy-app", "legacy-secret")
    tokens = first_tokens(server, *auth)
    narrower = refresh(server, tokens["refresh_token"], auth, scope="openid")
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "openid"
    wider = refresh(server, tokens["refresh_token"], auth, scope="openid email")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"


def test_refresh_token_of_another_client_is_refused(server: RunningServer) -> None:
    tokens = first_tokens(server, "trusted-app", "trusted-secret")
    other = refresh(server, tokens["refresh_token"], ("legacy-app", "legacy-secret"))
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"


def test_concurrent_refreshes_of_one_token_all_succeed(server: RunningServer) -> None:
    """A relying party refreshing from several processes at once (prefork Apache with
    mod_auth_openidc) sends the same refresh token several times."""
    auth = ("trusted-app", "trusted-secret")
    tokens = first_tokens(server, *auth)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: refresh(server, tokens["refresh_token"], auth), range(8)))
    assert [answer.status_code for answer in answers] == [200] * 8, answers[0].text
    for answer in answers:
        assert userinfo_status(server, answer.json()["access_token"]) == 200
    # every answer carries a refresh token of the current generation: each one works on
    later = refresh(server, answers[-1].json()["refresh_token"], auth)
    assert later.status_code == 200, later.text
    assert refresh(server, answers[0].json()["refresh_token"], auth).status_code == 200
    assert userinfo_status(server, later.json()["access_token"]) == 200


def test_a_replay_after_the_reuse_interval_revokes_the_family(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(refresh_token_reuse_interval=1)
    auth = ("trusted-app", "trusted-secret")
    tokens = first_tokens(server, *auth)
    rotated = refresh(server, tokens["refresh_token"], auth)
    assert rotated.status_code == 200
    again = refresh(server, tokens["refresh_token"], auth)  # within the interval: answered
    assert again.status_code == 200, again.text
    time.sleep(1.5)
    replay = refresh(server, tokens["refresh_token"], auth)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert refresh(server, rotated.json()["refresh_token"], auth).status_code == 400
    assert userinfo_status(server, again.json()["access_token"]) == 401


def test_without_a_reuse_interval_a_second_use_revokes_at_once(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(refresh_token_reuse_interval=0)
    auth = ("trusted-app", "trusted-secret")
    tokens = first_tokens(server, *auth)
    rotated = refresh(server, tokens["refresh_token"], auth)
    assert rotated.status_code == 200
    assert refresh(server, tokens["refresh_token"], auth).status_code == 400
    assert userinfo_status(server, rotated.json()["access_token"]) == 401
