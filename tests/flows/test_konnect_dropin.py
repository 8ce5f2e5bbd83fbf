"""Konnect drop-in details that relying parties and unit files depend on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/konnect/v1/jwks.json"


def test_discovery_has_konnects_content_type(server: RunningServer) -> None:
    response = httpx.get(server.url + DISCOVERY)
    assert response.headers["content-type"] == "application/json; encoding=utf-8"


def test_openid_is_listed_once_when_the_allowed_scopes_name_it(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(allowed_scopes=("openid", "profile", "email"))
    scopes = httpx.get(server.url + DISCOVERY).json()["scopes_supported"]
    assert scopes == ["openid", "profile", "email"]


def test_jwks_is_not_cached(server: RunningServer) -> None:
    response = httpx.get(server.url + JWKS)
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.fixture
def ec_only(server_factory: Callable[..., RunningServer], key_dir: Path) -> RunningServer:
    return server_factory(
        signing_private_keys=(key_dir / "ec-key.pem",),
        signing_method="ES256",
        allow_dynamic_client_registration=True,
    )


def _register(server: RunningServer, **metadata: str) -> httpx.Response:
    body = {"redirect_uris": ["https://rp.example.org/cb"], "client_name": "RP", **metadata}
    return httpx.post(server.url + "/konnect/v1/register", json=body)


def test_without_an_rsa_key_a_registration_relying_on_the_rs256_default_is_refused(
    ec_only: RunningServer,
) -> None:
    refused = _register(ec_only)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    assert "RS256" in refused.json()["error_description"]
    registered = _register(ec_only, id_token_signed_response_alg="ES256")
    assert registered.status_code == 201, registered.text
    assert registered.json()["id_token_signed_response_alg"] == "ES256"
