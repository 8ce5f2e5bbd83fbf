"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import RunningServer
from tests.flows.test_refresh_rotation import first_tokens, refresh, userinfo_status

AUTH = ("trusted-app", "trusted-secret")


def introspect(server: RunningServer, token: str, auth: tuple[str, str] = AUTH) -> httpx.Response:
    return httpx.post(server.url + "/konnect/v1/introspect", data={"token": token}, auth=auth)


def test_introspection_reports_active_tokens(server: RunningServer) -> None:
    tokens = first_tokens(server, *AUTH)
    access = introspect(server, tokens["access_token"]).json()
    assert access["active"] is True
    assert access["client_id"] == "trusted-app"
    assert access["token_type"] == "Bearer"
    assert "offline_access" in access["scope"].split()
    assert introspect(server, tokens["refresh_token"]).json()["active"] is True
    assert introspect(server, "garbage").json() == {"active": False}
    wrong = introspect(server, tokens["access_token"], ("trusted-app", "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_revoking_the_refresh_token_ends_the_grant(server: RunningServer) -> None:
    tokens = first_tokens(server, *AUTH)
    revoked = httpx.post(
        server.url + "/konnect/v1/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=AUTH,
    )
    assert revoked.status_code == 200
    assert refresh(server, tokens["refresh_token"], AUTH).status_code == 400
    assert userinfo_status(server, tokens["access_token"]) == 401
    assert introspect(server, tokens["access_token"]).json() == {"active": False}


def test_other_clients_cannot_revoke_and_garbage_is_fine(server: RunningServer) -> None:
    tokens = first_tokens(server, *AUTH)
    other = httpx.post(
        server.url + "/konnect/v1/revoke",
        data={"token": tokens["access_token"]},
        auth=("legacy-app", "legacy-secret"),
    )
    assert other.status_code == 200
    assert userinfo_status(server, tokens["access_token"]) == 200
    garbage = httpx.post(server.url + "/konnect/v1/revoke", data={"token": "x"}, auth=AUTH)
    assert garbage.status_code == 200
    missing = httpx.post(server.url + "/konnect/v1/revoke", data={}, auth=AUTH)
    assert missing.status_code == 400
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert meta["revocation_endpoint"] == server.url + "/konnect/v1/revoke"
    assert meta["introspection_endpoint"] == server.url + "/konnect/v1/introspect"


def test_userinfo_by_post_body(server: RunningServer) -> None:
    tokens = first_tokens(server, *AUTH)
    url = server.url + "/konnect/v1/userinfo"
    by_body = httpx.post(url, data={"access_token": tokens["access_token"]})
    assert by_body.status_code == 200
    assert by_body.json()["sub"]
    both = httpx.post(
        url,
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert both.status_code == 401
    assert 'error="invalid_request"' in both.headers["www-authenticate"]


def test_signed_userinfo_for_clients_that_register_it(
    server_factory: Callable[..., RunningServer], config_dir: Path
) -> None:
    registry = config_dir / "registry.yaml"
    registry.write_text(
        registry.read_text().replace(
            "    reusable_refresh_tokens: yes\n",
            "    reusable_refresh_tokens: yes\n    userinfo_signed_response_alg: PS256\n",
        )
    )
    server = server_factory()
    plain = first_tokens(server, *AUTH)
    legacy = first_tokens(server, "legacy-app", "legacy-secret")
    url = server.url + "/konnect/v1/userinfo"
    signed = httpx.get(url, headers={"Authorization": "Bearer " + legacy["access_token"]})
    assert signed.headers["content-type"] == "application/jwt"
    meta = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert "PS256" in meta["userinfo_signing_alg_values_supported"]
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    claims = jwt.decode(signed.text, keys, algorithms=["PS256"]).claims
    assert claims["aud"] == "legacy-app"
    assert claims["iss"] == server.url
    unsigned = httpx.get(url, headers={"Authorization": "Bearer " + plain["access_token"]})
    assert claims["sub"] == unsigned.json()["sub"]
