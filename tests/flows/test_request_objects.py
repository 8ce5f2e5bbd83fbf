"""Request objects: signed with the client's registered key and alg, or refused."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_bad_input import REDIRECT, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


def authorize_with(server: RunningServer, request_object: str, **query: str) -> httpx.Response:
    params = good_params(client_id="signing-app", prompt="none", scope="openid", **query)
    params["request"] = request_object
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        return client.get(AUTHORIZE + "?" + urlencode(params))


def result(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


def signed(key: ECKey, claims: dict[str, Any], alg: str = "ES256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


def unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none"}) + "." + part(claims) + "."


def test_signed_request_object_replaces_query_parameters(
    server: RunningServer, client_key: ECKey
) -> None:
    claims = {
        "client_id": "signing-app",
        "scope": "openid profile email",
        "state": "from-object",
        "iss": "signing-app",
        "aud": server.url,
        "exp": int(time.time()) + 60,
    }
    answer = result(authorize_with(server, signed(client_key, claims)))
    assert "code" in answer
    assert answer["state"] == ["from-object"]
    assert answer["scope"] == ["openid profile email"]
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert meta["request_parameter_supported"] is True


@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "foreign key",
        "hmac with public key",
        "other client",
        "expired",
        "other redirect",
        "wrong audience",
        "garbage",
    ],
)
def test_bad_request_objects_are_refused(
    server: RunningServer, client_key: ECKey, case: str
) -> None:
    claims: dict[str, Any] = {"client_id": "signing-app", "scope": "openid"}
    if case == "unsigned":
        token = unsigned(claims)
    elif case == "foreign key":
        token = signed(ECKey.generate_key("P-256", parameters={"kid": "x"}), claims)
    elif case == "hmac with public key":
        public = json.dumps(client_key.as_dict(private=False)).encode()
        secret = OctKey.import_key(public)
        token = jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
    elif case == "other client":
        token = signed(client_key, {**claims, "client_id": "trusted-app"})
    elif case == "expired":
        token = signed(client_key, {**claims, "exp": int(time.time()) - 10})
    elif case == "other redirect":
        token = signed(client_key, {**claims, "redirect_uri": "http://127.0.0.1:9999/other"})
    elif case == "wrong audience":
        token = signed(client_key, {**claims, "aud": "https://elsewhere.example.com"})
    else:
        token = "not-a-jwt"
    answer = result(authorize_with(server, token))
    assert answer["error"] == ["invalid_request_object"]
    assert answer["state"] == ["st"]


def test_a_redirect_uri_only_in_the_signed_object_is_used(
    server: RunningServer, client_key: ECKey
) -> None:
    token = signed(client_key, {"client_id": "signing-app", "redirect_uri": REDIRECT})
    response = authorize_with(server, token, redirect_uri="-")
    assert response.headers["location"].startswith(REDIRECT + "?")
    assert "code" in result(response)


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:9999/not-registered", "broken", None])
def test_an_unusable_object_without_a_query_redirect_uri_is_an_error_page(
    server: RunningServer, client_key: ECKey, redirect_uri: str | None
) -> None:
    claims: dict[str, Any] = {"client_id": "signing-app"}
    if redirect_uri == "broken":
        token = signed(
            ECKey.generate_key("P-256", parameters={"kid": "x"}),
            {**claims, "redirect_uri": REDIRECT},
        )
    else:
        if redirect_uri is not None:
            claims["redirect_uri"] = redirect_uri
        token = signed(client_key, claims)
    response = authorize_with(server, token, redirect_uri="-")
    assert response.status_code == 400
    assert "location" not in response.headers
