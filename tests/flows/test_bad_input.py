"""Malformed, hostile and oversized requests get the spec's error, never a 500 or a redirect
to an unverified URI."""

from __future__ import annotations

import hashlib
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import Clock, RunningServer, api_headers, browser, sign_in

AUTHORIZE = "/signin/v1/identifier/_/authorize"
TOKEN = "/konnect/v1/token"
USERINFO = "/konnect/v1/userinfo"
REDIRECT = "http://127.0.0.1:9999/cb"
VERIFIER = "v" * 50
CHALLENGE = urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def good_params(**changes: str) -> dict[str, str]:
    params = {
        "client_id": "trusted-app",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st",
        "nonce": "nc",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return {key: value for key, value in params.items() if value != "-"}


def authorize(
    server: RunningServer, query: str, client: httpx.Client | None = None
) -> httpx.Response:
    if client is not None:
        return client.get(AUTHORIZE + "?" + query)
    return httpx.get(server.url + AUTHORIZE + "?" + query, follow_redirects=False)


def redirected_error(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (urlencode(good_params(client_id="-")), "client_id"),
        (urlencode(good_params(redirect_uri="-")), "redirect_uri"),
        (urlencode(good_params(client_id="nobody")), "unknown"),
        (urlencode(good_params(redirect_uri="https://evil.example.com/cb")), "redirect"),
        (urlencode(good_params(redirect_uri=REDIRECT + "#frag")), "redirect_uri"),
        (urlencode(good_params()) + "&client_id=trusted-app", "repeated"),
        (urlencode(good_params()) + "&state=%ff%fe", "UTF-8"),
        (urlencode(good_params(state="x" * 9000)), "too long"),
    ],
)
def test_unverifiable_requests_get_an_error_page(
    server: RunningServer, query: str, reason: str
) -> None:
    response = authorize(server, query)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert reason.lower() in response.text.lower()
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "foo"}, "unsupported_response_type"),
        ({"response_type": "-"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"id_token_hint": "not.a.jwt"}, "invalid_request"),
        ({"request_uri": "https://example.com/r"}, "invalid_request_uri"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),
        ({"response_mode": "bogus"}, "invalid_request"),
    ],
)
def test_verified_client_gets_error_redirects(
    server: RunningServer, changes: dict[str, str], error: str
) -> None:
    params = redirected_error(authorize(server, urlencode(good_params(**changes))))
    assert params["error"] == [error]
    assert params["state"] == ["st"]
    assert params["iss"] == [server.url]


def test_public_client_must_use_pkce(server: RunningServer) -> None:
    query = urlencode(
        good_params(
            client_id="public-app",
            redirect_uri="http://localhost:4444/cb",
            code_challenge="-",
            code_challenge_method="-",
        )
    )
    response = authorize(server, query)
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]
    assert response.headers["location"].startswith("http://localhost:4444/cb?")


def test_tampered_logon_cookie_means_not_signed_in(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        cookie = next(iter(client.cookies.jar))
        assert cookie.value
        client.cookies.clear()
        tampered = cookie.value[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
        client.cookies.set(cookie.name, tampered, domain=cookie.domain, path=cookie.path)
        params = redirected_error(authorize(server, urlencode(good_params(prompt="none")), client))
        assert params["error"] == ["login_required"]


def signed_in_code(server: RunningServer, **changes: str) -> str:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = authorize(server, urlencode(good_params(prompt="none", **changes)), client)
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def token(server: RunningServer, data: dict[str, str], **kwargs: object) -> httpx.Response:
    auth = kwargs.pop("auth", ("trusted-app", "trusted-secret"))
    return httpx.post(server.url + TOKEN, data=data, auth=auth, **kwargs)  # type: ignore[arg-type]


def code_request(code: str, /, **changes: str) -> dict[str, str]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != "-"}


def test_code_redeems_once_with_the_right_verifier(server: RunningServer) -> None:
    response = token(server, code_request(signed_in_code(server)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"code_verifier": "w" * 50}, 400, "invalid_grant"),
        ({"code_verifier": "-"}, 400, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:9999/other"}, 400, "invalid_grant"),
        ({"code": "tampered"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "-"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_errors(
    server: RunningServer, changes: dict[str, str], status: int, error: str
) -> None:
    code = signed_in_code(server)
    response = token(server, code_request(code, **changes))
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "auth", [("trusted-app", "wrong"), ("nobody", "x"), ("untrusted-app", "trusted-secret")]
)
def test_client_authentication_failures_are_invalid_client(
    server: RunningServer, auth: tuple[str, str]
) -> None:
    response = token(server, code_request(signed_in_code(server)), auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_code_of_another_client_is_refused(server: RunningServer) -> None:
    code = signed_in_code(server)
    response = token(server, code_request(code), auth=("untrusted-app", "untrusted-secret"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(server_factory: object, settings_factory: object) -> None:
    from konnect.http.app import Overrides

    clock = Clock(1_700_000_000.0)
    server = server_factory(Overrides(clock=clock))  # type: ignore[operator]
    code = signed_in_code(server)
    clock.advance(121)
    response = token(server, code_request(code))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"grant_type=authorization_code", "application/json", 400),
        (b"grant_type=authorization_code&code=%ff", "application/x-www-form-urlencoded", 400),
        (b"grant_type=a&grant_type=b", "application/x-www-form-urlencoded", 400),
        (b"x=" + b"a" * 70_000, "application/x-www-form-urlencoded", 400),
        (b"x=" + b"a" * 2_000_000, "application/x-www-form-urlencoded", 413),
    ],
)
def test_malformed_token_bodies(
    server: RunningServer, content: bytes, content_type: str, status: int
) -> None:
    response = httpx.post(
        server.url + TOKEN, content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_refuses_get(server: RunningServer) -> None:
    response = httpx.get(server.url + TOKEN)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_oversized_headers_are_refused(server: RunningServer) -> None:
    response = httpx.get(server.url + USERINFO, headers={"X-Big": "a" * 40_000})
    assert response.status_code in (400, 431)


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "invalid_request"),
        ("Basic abc", "invalid_request"),
        ("Bearer", "invalid_request"),
        ("Bearer not-a-token", "invalid_token"),
        ("Bearer a.b.c", "invalid_token"),
    ],
)
def test_userinfo_errors(server: RunningServer, authorization: str | None, error: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(server.url + USERINFO, headers=headers)
    assert response.status_code == 401
    assert f'error="{error}"' in response.headers["www-authenticate"]
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_expired_access_token_is_refused(server_factory: object) -> None:
    from konnect.http.app import Overrides

    clock = Clock(1_700_000_000.0)
    server = server_factory(Overrides(clock=clock))  # type: ignore[operator]
    access = token(server, code_request(signed_in_code(server))).json()["access_token"]
    ok = httpx.get(server.url + USERINFO, headers={"Authorization": f"Bearer {access}"})
    assert ok.status_code == 200
    clock.advance(601)
    expired = httpx.get(server.url + USERINFO, headers={"Authorization": f"Bearer {access}"})
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Origin": "http://127.0.0.1"}, b"{}"),
        ({"Kopano-Konnect-XSRF": "1", "Origin": "https://evil.example.com"}, b"{}"),
        ({"Kopano-Konnect-XSRF": "1"}, b"{}"),
        ({"Kopano-Konnect-XSRF": "1", "Origin": "SELF"}, b"{not json"),
        ({"Kopano-Konnect-XSRF": "1", "Origin": "SELF"}, b'{"state": 5}'),
        ({"Kopano-Konnect-XSRF": "1", "Origin": "SELF"}, b'{"state": "s", "params": []}'),
        ({"Kopano-Konnect-XSRF": "1", "Origin": "SELF"}, b'{"state": "s", "params": [1, 2]}'),
    ],
)
def test_identifier_api_refuses_bad_requests(
    server: RunningServer, headers: dict[str, str], body: bytes
) -> None:
    headers = {key: server.url if value == "SELF" else value for key, value in headers.items()}
    response = httpx.post(
        server.url + "/signin/v1/identifier/_/logon", content=body, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_identifier_api_is_post_only(server: RunningServer) -> None:
    assert httpx.get(server.url + "/signin/v1/identifier/_/hello").status_code == 405


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("jonas", "wrong"),
        ("nobody", "whatever"),
        ("timmothy", "correct horse battery staple"),
        ("jonas", ""),
        ("*", "x"),
        ("", ""),
    ],
)
def test_failed_logons_all_look_the_same(
    server: RunningServer, username: str, password: str
) -> None:
    response = httpx.post(
        server.url + "/signin/v1/identifier/_/logon",
        json={"state": "abc", "params": [username, password, "1"]},
        headers=api_headers(server.url),
    )
    assert response.status_code == 204
    assert response.headers["kopano-konnect-state"] == "abc"
    assert "set-cookie" not in response.headers


def test_repeated_failures_are_throttled(server: RunningServer) -> None:
    statuses = []
    for _ in range(12):
        response = httpx.post(
            server.url + "/signin/v1/identifier/_/logon",
            json={"state": "abc", "params": ["jonas", "wrong", "1"]},
            headers=api_headers(server.url),
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [204] * 10
    assert statuses[10:] == [429, 429]


def test_random_garbage_never_causes_a_server_error(server: RunningServer) -> None:
    paths = [AUTHORIZE, TOKEN, USERINFO, "/signin/v1/identifier/_/hello", "/nope"]
    for _ in range(40):
        junk = secrets.token_bytes(64)
        for path in paths:
            get = httpx.get(server.url + path + "?" + junk.hex() + "=%" + junk[:3].hex())
            post = httpx.post(
                server.url + path,
                content=junk,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    **api_headers(server.url),
                },
            )
            assert get.status_code < 500
            assert post.status_code < 500


def test_client_credentials_for_registered_confidential_clients(server: RunningServer) -> None:
    granted = token(
        server,
        {"grant_type": "client_credentials", "scope": "openid profile"},
        auth=("service-app", "service-secret"),
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    assert "id_token" not in body
    refused = token(
        server, {"grant_type": "client_credentials"}, auth=("trusted-app", "trusted-secret")
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "unauthorized_client"
    # a client token names no user: userinfo refuses it
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    assert httpx.get(server.url + USERINFO, headers=bearer).status_code == 401


def test_deeply_nested_json_is_a_clean_error(server: RunningServer) -> None:
    nested = "[" * 5000 + "]" * 5000
    response = authorize(server, urlencode(good_params(claims=nested[:8000])))
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]
    api = httpx.post(
        server.url + "/signin/v1/identifier/_/hello",
        content=nested.encode(),
        headers=api_headers(server.url),
    )
    assert api.status_code == 400
    long_name = httpx.post(
        server.url + "/signin/v1/identifier/_/logon",
        json={"state": "s", "params": ["x" * 5000, "pw", "1"]},
        headers=api_headers(server.url),
    )
    assert long_name.status_code == 204


def test_json_text_that_is_not_unicode_is_a_clean_error(
    server_factory: Callable[..., RunningServer],
) -> None:
    """A lone surrogate is a valid JSON escape but no Unicode text: it could be neither
    stored, nor logged, nor put in a token, so it is refused where it comes in."""
    server = server_factory(allow_dynamic_client_registration=True)
    logon = httpx.post(
        server.url + "/signin/v1/identifier/_/logon",
        content=b'{"state": "s", "params": ["jonas\\ud800", "pw", "1"]}',
        headers={**api_headers(server.url), "Content-Type": "application/json"},
    )
    assert logon.status_code == 400
    assert logon.json()["error"] == "invalid_request"
    claims = '{"userinfo": {"name": {"value": "x\\udc00"}}}'
    response = authorize(server, urlencode(good_params(claims=claims)))
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["location"]
    registration = httpx.post(
        server.url + "/konnect/v1/register",
        content=b'{"redirect_uris": ["https://a.example.org/cb"], "client_name": "\\ud83d"}',
        headers={"Content-Type": "application/json"},
    )
    assert registration.status_code == 400
    assert registration.json()["error"] == "invalid_client_metadata"
