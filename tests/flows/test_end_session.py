"""RP-initiated logout at Konnect's end session endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import RunningServer, api_headers, browser, sign_in
from tests.flows.test_bad_input import good_params

ENDSESSION = "/signin/v1/identifier/_/endsession"
RP = "http://127.0.0.1:9999/cb"


def id_token_for(client: httpx.Client) -> str:
    params = good_params(
        prompt="none", response_type="id_token", code_challenge="-", code_challenge_method="-"
    )
    response = client.get("/signin/v1/identifier/_/authorize?" + urlencode(params))
    return parse_qs(urlsplit(response.headers["location"]).fragment)["id_token"][0]


def signed_in(client: httpx.Client, base: str) -> bool:
    response = client.post(
        "/signin/v1/identifier/_/hello", json={"state": "h"}, headers=api_headers(base)
    )
    return response.status_code == 200


def test_logout_with_hint_returns_to_the_client_with_state(server: RunningServer) -> None:
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert meta["end_session_endpoint"] == server.url + ENDSESSION
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        hint = id_token_for(client)
        query = {"id_token_hint": hint, "post_logout_redirect_uri": RP, "state": "bye"}
        response = client.get(ENDSESSION + "?" + urlencode(query))
        assert response.status_code == 302
        assert response.headers["location"] == RP + "?state=bye"
        assert not signed_in(client, server.url)


def test_unregistered_post_logout_redirect_is_refused(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        hint = id_token_for(client)
        query = {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example.com/"}
        response = client.get(ENDSESSION + "?" + urlencode(query))
        assert response.status_code == 400
        assert "location" not in response.headers
        assert signed_in(client, server.url)


def test_without_hint_the_user_confirms_on_the_goodbye_page(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get(ENDSESSION + "?client_id=untrusted-app")
        assert response.headers["location"] == (
            server.url + "/signin/v1/goodbye?client_id=untrusted-app&flow=oidc"
        )
        assert signed_in(client, server.url)


def test_invalid_hint_is_an_error_page(server: RunningServer) -> None:
    response = httpx.get(server.url + ENDSESSION + "?id_token_hint=a.b.c")
    assert response.status_code == 400
    assert "location" not in response.headers


def test_check_session_iframe_page(server: RunningServer) -> None:
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    response = httpx.get(meta["check_session_iframe"])
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert '"KKBS"' in response.text  # the browser-state cookie it reads
    assert "x-frame-options" not in response.headers  # relying parties frame it
    assert httpx.get(meta["check_session_iframe"]).headers["content-security-policy"] != csp
