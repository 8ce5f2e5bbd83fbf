"""Every endpoint against the same catalogue of hostile requests: never a 500, never internal
detail, OAuth-shaped JSON errors, and no redirect anywhere but to a registered redirect URI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest

from konnect.oidc.urls import Endpoints
from tests.conftest import RunningServer, api_headers, browser, sign_in
from tests.flows.test_bad_input import REDIRECT, good_params

ENDPOINTS = Endpoints("http://placeholder")
# (path, methods, the endpoint answers OAuth JSON errors)
TARGETS = [
    (ENDPOINTS.authorize, ("GET", "POST"), False),
    (ENDPOINTS.token, ("POST",), True),
    (ENDPOINTS.userinfo, ("GET", "POST"), True),
    (ENDPOINTS.revocation, ("POST",), True),
    (ENDPOINTS.introspection, ("POST",), True),
    (ENDPOINTS.registration, ("POST",), True),
    (ENDPOINTS.registration + "/dyn.x", ("GET",), True),
    (ENDPOINTS.endsession, ("GET", "POST"), False),
    (ENDPOINTS.check_session, ("GET",), False),
    (ENDPOINTS.logout_frames, ("GET",), False),
    (ENDPOINTS.jwks, ("GET",), False),
    (ENDPOINTS.discovery, ("GET",), False),
    (ENDPOINTS.identifier_api + "hello", ("POST",), True),
    (ENDPOINTS.identifier_api + "logon", ("POST",), True),
    (ENDPOINTS.identifier_api + "logoff", ("POST",), True),
    (ENDPOINTS.identifier_api + "consent", ("POST",), True),
    (ENDPOINTS.signin_page, ("GET",), False),
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LEAKS = ("Traceback", 'File "', '.py", line', "site-packages", "Exception", "Error(")


@dataclass(frozen=True)
class Attack:
    """One hostile request shape: a query string, a body and headers."""

    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _params(**changes: str) -> str:
    return "&".join(f"{key}={quote(value)}" for key, value in good_params(**changes).items())


ATTACKS = {
    "duplicated parameters": Attack(query=_params() + "&client_id=other&scope=openid"),
    "bad percent encoding": Attack(query="client_id=%zz&redirect_uri=%", body=b"a=%zz&b=%"),
    "invalid utf-8": Attack(query="client_id=%ff%fe&state=%c3%28", body=b"grant_type=%ff%fe"),
    "nul bytes": Attack(query=_params(state="a\0b", client_id="trusted-app\0"), body=b"a=%00"),
    "foreign redirect": Attack(query=_params(redirect_uri="https://evil.example/cb")),
    "javascript redirect": Attack(query=_params(redirect_uri="javascript:alert(1)")),
    "huge values": Attack(query=_params(state="s" * 6000), body=b"token=" + b"t" * 60_000),
    "oversized body": Attack(body=b"a=" + b"x" * 3_000_000),
    "json to a form endpoint": Attack(
        body=json.dumps({"grant_type": ["x"], "state": {"a": 1}}).encode(),
        headers={"Content-Type": "application/json"},
    ),
    "json of the wrong shape": Attack(
        body=b'[1, {"params": null}, "state"]', headers={"Content-Type": "application/json"}
    ),
    "deep json": Attack(
        body=b"[" * 5000 + b"]" * 5000, headers={"Content-Type": "application/json"}
    ),
    "unknown content type": Attack(body=b"\x00\xff\xfe", headers={"Content-Type": "image/png"}),
    "garbage basic auth": Attack(
        body=b"grant_type=client_credentials",
        headers={
            "Authorization": "Basic !!!not-base64",
            **FORM,
        },
    ),
    "basic auth without colon": Attack(
        body=b"token=x",
        headers={
            "Authorization": "Basic dHJ1c3RlZC1hcHA=",
            **FORM,
        },
    ),
    "malformed bearer": Attack(headers={"Authorization": "Bearer a.b.c"}),
    "bearer of another scheme": Attack(headers={"Authorization": "Negotiate abc"}),
    "forged jwt": Attack(
        query="id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.&request=eyJhbGciOiJub25lIn0.e30.",
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
    ),
}


@pytest.fixture
def dynamic_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory(allow_dynamic_client_registration=True)


def _check(response: httpx.Response, server: RunningServer, oauth_json: bool) -> None:
    where = f"{response.request.method} {response.request.url.path}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    for leak in LEAKS:
        assert leak not in response.text, f"{where} shows internal detail: {response.text[:300]}"
    location = response.headers.get("location")
    if location is not None:
        assert location.startswith((server.url + "/", REDIRECT + "?", REDIRECT + "#")), (
            f"{where} redirects to {location}"
        )
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if oauth_json and response.status_code >= 400 and is_json:
        error = response.json()
        assert isinstance(error, dict), f"{where}: {error}"
        assert isinstance(error.get("error"), str), f"{where}: {error}"


@pytest.mark.parametrize("attack_name", sorted(ATTACKS))
def test_every_endpoint_survives(dynamic_server: RunningServer, attack_name: str) -> None:
    attack = ATTACKS[attack_name]
    server = dynamic_server
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200  # signed-in paths too
        for path, methods, oauth_json in TARGETS:
            url = path + ("?" + attack.query if attack.query else "")
            for method in methods:
                headers = {**api_headers(server.url), **FORM, **attack.headers}
                body = attack.body if method == "POST" else None
                response = client.request(method, url, content=body, headers=headers)
                _check(response, server, oauth_json)


MFA_API = ENDPOINTS.identifier_api
MFA_TARGETS = [
    MFA_API + path
    for path in (
        "mfa",
        "mfa/enrol",
        "mfa/webauthn",
        "mfa/enrol/webauthn",
        "passkey",
        "security",
        "security/rename",
        "security/remove",
        "security/totp",
        "security/webauthn",
        "security/recovery",
    )
]
#: Well-formed JSON whose values have the wrong types or shapes for the MFA steps.
MFA_BODIES = [
    {"state": "s", "step": ["begin"], "method": {"a": 1}, "code": 123456},
    {"state": "s", "step": "finish", "credential": "not an object", "hello": "x"},
    {"state": "s", "step": "finish", "credential": {"id": 1, "response": []}},
    {"state": "s", "step": "confirm", "code": "1" * 10_000, "id": None, "name": ["x"]},
    {"state": "s", "kind": "totp", "id": "../../x", "name": "\u202e\0" * 200},
]


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_every_multi_factor_endpoint_survives(
    server_factory: Callable[..., RunningServer], mode: str
) -> None:
    server = server_factory(mfa=mode)
    statuses = set()
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200  # signed in, or pending
        for path in MFA_TARGETS:
            for attack in ATTACKS.values():
                url = path + ("?" + attack.query if attack.query else "")
                headers = {**api_headers(server.url), **FORM, **attack.headers}
                response = client.post(url, content=attack.body, headers=headers)
                _check(response, server, oauth_json=True)
            for body in MFA_BODIES:
                response = client.post(path, json=body, headers=api_headers(server.url))
                _check(response, server, oauth_json=True)
                statuses.add(response.status_code)
    assert statuses - {404}, "the multi-factor endpoints are not there"
