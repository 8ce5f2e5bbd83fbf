"""Users who exist only at the upstream provider (`allow_upstream_only_users`), against a real
node-oidc-provider: konnect's code, tokens, userinfo, refresh and Jitsi login work for them,
their `sub` lives in a namespace of its own, and without the key they are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from konnect.crypto import public_subject
from konnect.http.reload import ReloadingApp
from konnect.identity import UPSTREAM_PROVIDER, upstream_subject
from tests.authorities.conftest import Federation, Upstream, authority_entry
from tests.authorities.test_authorities_signin import (
    code_after_sign_in,
    error_at_client,
    local_subject,
    upstream_round_trip,
)
from tests.conftest import browser
from tests.flows.test_bad_input import REDIRECT
from tests.flows.test_consent_and_prompts import claims_of, exchange, hello
from tests.flows.test_refresh_rotation import refresh

SCOPE = "openid profile email groups offline_access"
AUTH = ("trusted-app", "trusted-secret")
JITSI_SECRET = b"a shared secret of Jitsi and konnect, 64 bytes long for HS512..."


def admitting(upstream: Upstream, **changes: object) -> list[dict[str, object]]:
    """The authority, admitting users who exist only there."""
    entry = authority_entry(
        upstream,
        allow_upstream_only_users=True,
        scopes=["openid", "profile", "email", "groups"],
        **changes,
    )
    return [entry]


def userinfo(federation: Federation, access_token: str) -> httpx.Response:
    return httpx.get(
        federation.konnect.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + access_token},
    )


def tokens_for(federation: Federation, account: str) -> dict[str, str]:
    with browser(federation.konnect.url) as client:
        back = upstream_round_trip(client, federation, login_hint=account, scope=SCOPE)
        code = code_after_sign_in(client, back)
    return exchange(federation.konnect, code)


def test_a_user_known_only_upstream_gets_code_tokens_userinfo_and_refreshes(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(admitting)
    tokens = tokens_for(federation, "outsider")
    claims = claims_of(tokens["id_token"])
    expected_sub = public_subject(
        upstream_subject(federation.upstream.issuer, "outsider"), UPSTREAM_PROVIDER
    )
    assert claims["iss"] == federation.konnect.url
    assert claims["sub"] == expected_sub
    profile = {
        "name": "Olga Outsider",
        "given_name": "Olga",
        "family_name": "Outsider",
        "preferred_username": "outsider",
        "email": "olga@partner.example",
        "email_verified": True,
        "groups": ["partners", "staff"],
    }
    assert {name: claims.get(name) for name in profile} == profile
    answer = userinfo(federation, tokens["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sub": expected_sub, **profile}

    refreshed = refresh(federation.konnect, tokens["refresh_token"], AUTH)
    assert refreshed.status_code == 200, refreshed.text
    access_token = refreshed.json()["access_token"]
    assert claims_of(access_token)["sub"] == expected_sub
    assert userinfo(federation, access_token).json() == {"sub": expected_sub, **profile}


def test_the_sub_never_equals_a_local_users_with_the_same_subject_and_name(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(admitting)
    # Upstream subject "1001" and name "Jonas Brekke": local jonas has both.
    tokens = tokens_for(federation, "1001")
    claims = claims_of(tokens["id_token"])
    assert claims["name"] == "Jonas Brekke"
    assert claims["sub"] != local_subject(federation)
    identity: Any = claims_of(tokens["access_token"])["kc.identity"]
    assert identity["kc.i.id"] != "1001"
    assert claims_of(tokens["access_token"])["kc.provider"] == UPSTREAM_PROVIDER


def test_a_local_user_signing_in_upstream_stays_the_local_user(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(admitting)
    claims = claims_of(tokens_for(federation, "jonas")["id_token"])
    assert claims["sub"] == local_subject(federation)


def test_without_the_key_a_user_known_only_upstream_is_refused(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    with browser(federation.konnect.url) as client:
        answer = error_at_client(upstream_round_trip(client, federation, login_hint="outsider"))
    assert answer["error"] == ["access_denied"]
    assert answer["error_description"] == ["this account has no user here"]


def test_an_upstream_only_user_may_not_take_a_local_users_name(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(
        lambda up: admitting(up, upstream_user_claims={"username": "nickname"})
    )
    with browser(federation.konnect.url) as client:  # nickname "jonas": a local user's name
        answer = error_at_client(upstream_round_trip(client, federation, login_hint="twin"))
    assert answer["error"] == ["access_denied"]
    assert answer["error_description"] == ["this account's user name belongs to a local user"]


def test_the_sign_in_page_greets_an_upstream_only_user(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(admitting)
    konnect = federation.konnect.url
    with browser(konnect) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation, login_hint="outsider"))
        greeting = hello(client, konnect, client_id="trusted-app", redirect_uri=REDIRECT)
    assert greeting.status_code == 200, greeting.text
    assert greeting.json()["success"] is True
    assert greeting.json()["displayName"] == "Olga Outsider"


def test_after_the_authority_is_removed_refresh_and_userinfo_fail(
    federation_factory: Callable[..., Federation], config_dir: Path
) -> None:
    federation = federation_factory(admitting)
    tokens = tokens_for(federation, "outsider")
    registry = config_dir / "registry.yaml"
    registry.write_text(registry.read_text().partition('\n"authorities"')[0] + "\n")
    app = federation.konnect.server.config.app
    assert isinstance(app, ReloadingApp)
    assert asyncio.run(app.reload())
    refused = refresh(federation.konnect, tokens["refresh_token"], AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert userinfo(federation, tokens["access_token"]).status_code == 401


@pytest.fixture
def jitsi_conf(tmp_path: Path) -> Path:
    (tmp_path / "meet.secret").write_bytes(JITSI_SECRET)
    conf = tmp_path / "jitsi.yaml"
    conf.write_text(
        "jitsi:\n  - id: meet\n    url: http://127.0.0.1:9/meet\n    app_id: konnect\n"
        "    audience: jitsi\n    secret_file: meet.secret\n    moderator_groups: [staff]\n"
    )
    return conf


def test_an_upstream_only_user_logs_in_to_jitsi(
    federation_factory: Callable[..., Federation], jitsi_conf: Path
) -> None:
    federation = federation_factory(admitting, jitsi_conf=jitsi_conf)
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation, login_hint="outsider"))
        entry = client.get("/jitsi/login?" + urlencode({"room": "partners", "server": "meet"}))
        answer = client.get(entry.headers["location"])
    assert answer.status_code == 302, answer.text
    token = parse_qs(urlsplit(answer.headers["location"]).query)["jwt"][0]
    claims = jwt.decode(token, JITSI_SECRET, algorithms=["HS256"], audience="jitsi")
    user = claims["context"]["user"]
    assert user["id"] == public_subject(
        upstream_subject(federation.upstream.issuer, "outsider"), UPSTREAM_PROVIDER
    )
    assert user["name"] == "Olga Outsider"
    assert user["moderator"] is True  # upstream group "staff"
