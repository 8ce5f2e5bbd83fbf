"""The embedded default store is a file: a restart forgets no revocation, no used code and
no refresh-token reuse."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import RunningServer, browser, free_port, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.flows.test_refresh_rotation import refresh, userinfo_status

AUTH = ("trusted-app", "trusted-secret")
AUTHORIZE = "/signin/v1/identifier/_/authorize"


def fresh_code(server: RunningServer) -> str:
    params = good_params(prompt="none", scope="openid offline_access")
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get(AUTHORIZE + "?" + urlencode(params))
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def redeem(server: RunningServer, code: str) -> httpx.Response:
    return httpx.post(server.url + "/konnect/v1/token", data=code_request(code), auth=AUTH)


def test_a_restart_forgets_no_grant_state(
    server_factory: Callable[..., RunningServer],
) -> None:
    port = free_port()
    first = server_factory(port=port)
    # a revoked grant
    revoked = redeem(first, fresh_code(first)).json()
    httpx.post(first.url + "/konnect/v1/revoke", data={"token": revoked["access_token"]}, auth=AUTH)
    # a used code
    code = fresh_code(first)
    used = redeem(first, code).json()
    # a family revoked for refresh-token reuse
    family = redeem(first, fresh_code(first)).json()
    newest = refresh(first, family["refresh_token"], AUTH).json()
    newest = refresh(first, newest["refresh_token"], AUTH).json()
    assert refresh(first, family["refresh_token"], AUTH).status_code == 400
    first.stop()

    second = server_factory(port=port)
    assert userinfo_status(second, revoked["access_token"]) == 401
    assert refresh(second, revoked["refresh_token"], AUTH).status_code == 400
    replay = redeem(second, code)
    assert replay.json()["error"] == "invalid_grant"
    assert userinfo_status(second, used["access_token"]) == 401  # the replay revoked it
    assert refresh(second, newest["refresh_token"], AUTH).status_code == 400
    assert userinfo_status(second, newest["access_token"]) == 401
