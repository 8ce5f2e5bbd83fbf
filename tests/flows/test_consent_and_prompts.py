"""Consent for untrusted clients, prompt handling, max_age and offline_access rules."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from konnect.http.app import Overrides
from tests.conftest import Clock, RunningServer, api_headers, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"
UNTRUSTED = {"client_id": "untrusted-app", "redirect_uri": "https://rp.example.com/cb"}


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "==")))


def exchange(server: RunningServer, code: str) -> dict[str, str]:
    response = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def hello(client: httpx.Client, base: str, **fields: str) -> httpx.Response:
    body = {"state": "h1", "flow": "oidc", **fields}
    return client.post("/signin/v1/identifier/_/hello", json=body, headers=api_headers(base))


def consent(client: httpx.Client, base: str, *, allow: bool, scope: str) -> httpx.Response:
    body = {
        "state": "c1",
        "allow": allow,
        "scope": scope,
        "client_id": UNTRUSTED["client_id"],
        "redirect_uri": UNTRUSTED["redirect_uri"],
        "ref": "st",
        "flow_nonce": "nc",
    }
    return client.post("/signin/v1/identifier/_/consent", json=body, headers=api_headers(base))


def test_untrusted_client_needs_consent_and_gets_a_code_after_allow(server: RunningServer) -> None:
    params = good_params(scope="openid profile offline_access", **UNTRUSTED)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        first = client.get(AUTHORIZE + "?" + urlencode(params))
        assert first.status_code == 302
        assert "flow=consent" in first.headers["location"]
        said = hello(client, server.url, scope=params["scope"], **UNTRUSTED).json()
        assert said["next"] == "consent"
        assert said["client"]["display_name"] == "Untrusted App"
        assert said["scopes"] == {"openid": True, "profile": True, "offline_access": True}
        assert said["meta"]["scopes"]["definitions"]["basic"]["id"] == "scope_alias_basic"
        allowed = consent(client, server.url, allow=True, scope="openid profile")
        assert allowed.status_code == 200
        done = client.get(
            AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"})
        )
        assert done.status_code == 302
        result = query_of(done.headers["location"])
        assert "code" in result
        assert result["scope"] == ["openid profile"]  # offline_access was not consented
        replay = client.get(
            AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"})
        )
        assert query_of(replay.headers["location"])["error"] == ["consent_required"]


def test_cancelled_consent_answers_access_denied(server: RunningServer) -> None:
    params = good_params(**UNTRUSTED)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        denied = consent(client, server.url, allow=False, scope="openid profile")
        assert denied.status_code == 204
        done = client.get(
            AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"})
        )
        result = query_of(done.headers["location"])
        assert result["error"] == ["access_denied"]
        assert result["state"] == ["st"]


def test_consent_requires_a_signed_in_user(server: RunningServer) -> None:
    with browser(server.url) as client:
        response = consent(client, server.url, allow=True, scope="openid")
    assert response.status_code == 400


def test_prompt_login_and_select_account_go_to_the_sign_in_page(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        for prompt in ("login", "select_account"):
            response = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt=prompt)))
            location = response.headers["location"]
            assert location.startswith(server.url + "/signin/v1/identifier?")
            assert query_of(location)["flow"] == ["oidc"]
            assert query_of(location)["prompt"] == [prompt]
        assert hello(client, server.url, prompt="login").status_code == 204
        assert hello(client, server.url, flow="").json()["username"] == "jonas"


def test_max_age_adds_auth_time_and_forces_a_new_sign_in(
    server_factory: Callable[..., RunningServer],
) -> None:
    clock = Clock(1_700_000_000.0)
    server = server_factory(Overrides(clock=clock))
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        clock.advance(301)
        stale = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", max_age="300")))
        assert query_of(stale.headers["location"])["error"] == ["login_required"]
        fresh = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", max_age="400")))
        code = query_of(fresh.headers["location"])["code"][0]
        tokens = exchange(server, code)
        assert claims_of(tokens["id_token"])["auth_time"] == 1_700_000_000


def test_offline_access_is_dropped_for_implicit_responses(server: RunningServer) -> None:
    params = good_params(
        response_type="id_token token",
        scope="openid offline_access",
        code_challenge="-",
        code_challenge_method="-",
        prompt="none",
    )
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get(AUTHORIZE + "?" + urlencode(params))
    fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
    assert fragment["scope"] == ["openid"]
    assert fragment["token_type"] == ["Bearer"]
    id_token = claims_of(fragment["id_token"][0])
    assert id_token["nonce"] == "nc"
    assert "at_hash" in id_token


def test_id_token_hint_of_another_user_is_refused(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get(
            AUTHORIZE
            + "?"
            + urlencode(
                good_params(
                    prompt="none",
                    response_type="id_token",
                    code_challenge="-",
                    code_challenge_method="-",
                )
            )
        )
        hint = parse_qs(urlsplit(response.headers["location"]).fragment)["id_token"][0]
        same = client.get(
            AUTHORIZE + "?" + urlencode(good_params(prompt="none", id_token_hint=hint))
        )
        assert "code" in query_of(same.headers["location"])
    with browser(server.url) as other:
        other.post(
            "/signin/v1/identifier/_/logon",
            json={"state": "s", "params": ["nobody", "x", "1"]},
            headers=api_headers(server.url),
        )
        refused = other.get(
            AUTHORIZE + "?" + urlencode(good_params(prompt="none", id_token_hint=hint))
        )
        assert query_of(refused.headers["location"])["error"] == ["login_required"]


def test_sign_in_uri_and_base_path_move_the_pages(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(uri_base_path="/auth", sign_in_uri="/login")
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert meta["authorization_endpoint"] == server.url + "/auth" + AUTHORIZE
    assert meta["token_endpoint"] == server.url + "/auth/konnect/v1/token"
    response = httpx.get(meta["authorization_endpoint"] + "?" + urlencode(good_params()))
    assert response.headers["location"].startswith(server.url + "/login?")
    assert httpx.get(server.url + "/auth/signin/v1/identifier").status_code == 200
    assert httpx.get(server.url + "/health-check").status_code == 200
