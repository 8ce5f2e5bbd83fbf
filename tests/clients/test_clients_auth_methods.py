"""Registry entries for JWT client authentication and logout channels are checked at load."""

from __future__ import annotations

from typing import Any

import pytest

from konnect.clients.model import client_from_entry
from konnect.clients.redirects import registration_problems

BASE: dict[str, Any] = {"id": "app", "redirect_uris": ["https://rp.example/cb"]}


def reasons(**entry: Any) -> list[str]:
    client, problems = client_from_entry({**BASE, **entry})
    assert client is not None
    return [problem.reason for problem in problems + registration_problems(client)]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"token_endpoint_auth_method": "client_secret_jwt", "secret": "short"},
            "client_secret_jwt needs a secret of at least 32 characters",
        ),
        (
            {
                "token_endpoint_auth_method": "client_secret_jwt",
                "secret": "s" * 40,
                "token_endpoint_auth_signing_alg": "ES256",
            },
            "client_secret_jwt signs with HS256, HS384 or HS512, not ES256",
        ),
        (
            {
                "token_endpoint_auth_method": "client_secret_jwt",
                "secret": "s" * 40,
                "token_endpoint_auth_signing_alg": "HS512",
            },
            "client_secret_jwt with HS512 needs a secret of at least 64 characters",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            "private_key_jwt needs the client's public keys in jwks or jwks_uri",
        ),
        (
            {
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "https://rp.example/jwks",
                "token_endpoint_auth_signing_alg": "HS256",
            },
            "private_key_jwt signs with an asymmetric algorithm, not HS256",
        ),
        (
            {"token_endpoint_auth_method": "tls_client_auth"},
            "token_endpoint_auth_method 'tls_client_auth' is not one of: client_secret_basic, "
            "client_secret_post, client_secret_jwt, private_key_jwt, none",
        ),
        (
            {"backchannel_logout_uri": "https://rp.example/logout#x"},
            "backchannel_logout_uri 'https://rp.example/logout#x' must not have a fragment",
        ),
        (
            {"frontchannel_logout_uri": "ftp://rp.example/logout"},
            "frontchannel_logout_uri 'ftp://rp.example/logout' must be an http(s) URI",
        ),
    ],
)
def test_auth_method_and_logout_problems(entry: dict[str, Any], expected: str) -> None:
    assert expected in reasons(**entry)


def test_jwt_clients_with_keys_are_fine_and_not_public() -> None:
    client, problems = client_from_entry(
        {
            **BASE,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://rp.example/jwks",
            "backchannel_logout_uri": "https://rp.example/bc",
            "backchannel_logout_session_required": True,
        }
    )
    assert problems == []
    assert client is not None
    assert not client.is_public
    assert client.backchannel_logout_session_required


def test_acr_metadata_of_registry_entries() -> None:
    """OIDC Registration §2 keys: default_acr_values, default_max_age, require_auth_time."""
    client, problems = client_from_entry(
        {**BASE, "default_acr_values": ["gold"], "default_max_age": 0, "require_auth_time": True}
    )
    assert problems == []
    assert client is not None
    assert (client.default_acr_values, client.default_max_age) == (("gold",), 0)
    assert client.require_auth_time
    assert reasons(default_max_age="1h") == ["default_max_age must be a whole number of seconds"]
    assert reasons(default_max_age=True) == ["default_max_age must be a whole number of seconds"]
