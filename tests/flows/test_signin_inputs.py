"""Input that the sign-in host would echo: error pages and identifier API answers carry fixed
texts and well-formed headers, whatever the request holds."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlencode

import httpx
import pytest

from tests.conftest import RunningServer, api_headers

AUTHORIZE = "/signin/v1/identifier/_/authorize"
API = "/signin/v1/identifier/_/"
SPOOF = "Your account is locked, call +1 555 0100"


@pytest.mark.parametrize(
    "query",
    [
        urlencode([("client_id", "trusted-app"), (SPOOF, "1"), (SPOOF, "2")]),
        urlencode([("client_id", "trusted-app"), (SPOOF * 8, "1")]),
    ],
)
def test_error_pages_do_not_echo_parameter_names(server: RunningServer, query: str) -> None:
    response = httpx.get(server.url + AUTHORIZE + "?" + query)
    assert response.status_code == 400
    assert "call +1 555" not in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"response_type": SPOOF},
        {"response_mode": SPOOF},
        {"prompt": SPOOF},
    ],
)
def test_redirected_errors_do_not_echo_values(
    server: RunningServer, params: dict[str, str]
) -> None:
    query = {
        "client_id": "trusted-app",
        "redirect_uri": "http://127.0.0.1:9999/cb",
        "response_type": "code",
        "scope": "openid",
        **params,
    }
    response = httpx.get(server.url + AUTHORIZE + "?" + urlencode(query))
    assert response.status_code == 302
    location = unquote_plus(response.headers["location"])
    assert "account is locked" not in location
    assert "555 0100" not in location


@pytest.mark.parametrize("endpoint", ["hello", "logon", "logoff", "consent"])
@pytest.mark.parametrize("state", ["a\r\nSet-Cookie: x=1", "zürich\u2603", "x" * 600, "\x00"])
def test_a_malformed_state_is_a_bad_request(
    server: RunningServer, endpoint: str, state: str
) -> None:
    body = {"state": state, "params": ["jonas", "wrong", "1"], "flow": "oidc"}
    response = httpx.post(server.url + API + endpoint, json=body, headers=api_headers(server.url))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "state is malformed",
    }
    assert "x=1" not in response.headers.get("set-cookie", "")
