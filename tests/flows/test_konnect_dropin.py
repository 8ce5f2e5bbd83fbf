"""Konnect drop-in details that relying parties and unit files depend on."""

from __future__ import annotations

from collections.abc import Callable

import httpx

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
