"""Hybrid response types and the form_post response mode."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


def claims_of(token: str) -> dict[str, object]:
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")))


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def authorize(server: RunningServer, **changes: str) -> httpx.Response:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        return client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **changes)))


@pytest.mark.parametrize("response_type", ["code id_token", "code token", "code id_token token"])
def test_hybrid_responses_carry_code_and_tokens(server: RunningServer, response_type: str) -> None:
    response = authorize(server, response_type=response_type)
    assert response.status_code == 302
    fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
    code = fragment["code"][0]
    if "id_token" in response_type:
        id_token = claims_of(fragment["id_token"][0])
        assert id_token["c_hash"] == half_hash(code)
        assert id_token["nonce"] == "nc"
        if "token" in response_type.split():
            assert id_token["at_hash"] == half_hash(fragment["access_token"][0])
    if "token" in response_type.split():
        assert fragment["token_type"] == ["Bearer"]
    tokens = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    assert claims_of(tokens.json()["id_token"])["nonce"] == "nc"


def test_hybrid_with_id_token_needs_a_nonce(server: RunningServer) -> None:
    response = authorize(server, response_type="code id_token", nonce="-")
    fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
    assert fragment["error"] == ["invalid_request"]


def test_form_post_posts_the_response_to_the_client(server: RunningServer) -> None:
    response = authorize(server, response_mode="form_post")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert "form-action http://127.0.0.1:9999" in csp
    assert 'action="http://127.0.0.1:9999/cb"' in response.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
    assert fields["state"] == "st"
    code = html.unescape(fields["code"])
    tokens = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200


def test_form_post_errors_are_posted_too(server: RunningServer) -> None:
    response = authorize(server, response_mode="form_post", scope="profile")
    assert response.status_code == 200
    assert 'name="error" value="invalid_scope"' in response.text
