"""The dummy backend: every browser is the test user `dummy`, and the server says so."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from konnect.config import load_settings
from tests.conftest import RunningServer
from tests.flows.test_consent_and_prompts import claims_of, exchange
from tests.identity.test_cookie_backend import authorize, query


def test_any_browser_gets_tokens_for_the_dummy_user(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(identity_manager="dummy", identity_manager_args=())
    result = query(authorize(server, scope="openid profile email offline_access"))
    tokens = exchange(server, result["code"])
    identity = claims_of(tokens["id_token"])
    assert identity["name"] == "Foo Dummy"
    assert identity["email"] == "dummy@dummy.local"
    assert "refresh_token" not in tokens
    assert claims_of(tokens["access_token"])["kc.provider"] == "dummy"
    userinfo = httpx.get(
        server.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == identity["sub"]


def test_the_dummy_user_cannot_consent(server_factory: Callable[..., RunningServer]) -> None:
    server = server_factory(identity_manager="dummy", identity_manager_args=())
    assert query(authorize(server, prompt="consent"))["error"] == "interaction_required"


def test_starting_with_the_dummy_backend_warns() -> None:
    settings = load_settings(["--iss", "https://id.example.com", "dummy"], {})
    assert any("only for testing" in warning for warning in settings.warnings)
