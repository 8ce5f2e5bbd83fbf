"""The `authorities:` entries: Konnect's keys and defaults, and every problem named at once."""

from __future__ import annotations

import pytest

from konnect.authorities import read_authorities
from konnect.config.errors import ConfigError


def test_konnects_keys_and_defaults_are_read() -> None:
    (authority,) = read_authorities(
        [
            (
                "r.yaml:3",
                {
                    "name": "Upstream OIDC",
                    "authority_type": "oidc",
                    "iss": "https://upstream.example.com",
                    "client_id": "konnect",
                    "client_secret": "unused",
                    "trusted": True,
                    "default": True,
                    "scopes": ["openid", "profile", "email"],
                    "identity_claim_name": "preferred_username",
                },
            )
        ]
    )
    assert authority.id == "Upstream OIDC"
    assert authority.response_type == "code"
    assert authority.code_challenge_method == "S256"
    assert (
        authority.discovery_url == "https://upstream.example.com/.well-known/openid-configuration"
    )


def test_every_problem_is_named_with_its_line() -> None:
    entries: list[tuple[str, dict[str, object]]] = [
        ("r.yaml:3", {"name": "a", "iss": "http://upstream.example.com", "client_id": "c"}),
        ("r.yaml:7", {"name": "b", "iss": "https://b.example.com", "response_type": "token"}),
        (
            "r.yaml:9",
            {"name": "c", "iss": "https://c.example.com", "client_id": "c", "discover": False},
        ),
        (
            "r.yaml:12",
            {"name": "d", "iss": "https://d.example.com", "client_id": "c", "colour": "red"},
        ),
        ("r.yaml:14", {"name": "e", "iss": "https://e.example.com", "client_id": "c"}),
        ("r.yaml:16", {"name": "e", "iss": "https://e.example.com", "client_id": "c"}),
    ]
    with pytest.raises(ConfigError) as caught:
        read_authorities(entries)
    assert caught.value.problems == [
        "r.yaml:3: authority 'a': iss must be an https URL (http only with insecure: yes)",
        "r.yaml:7: authority 'b': client_id is required",
        "r.yaml:7: authority 'b': response_type must be code or id_token",
        "r.yaml:9: authority 'c': authorization_endpoint is required with discover: no",
        "r.yaml:9: authority 'c': jwks is required with discover: no",
        "r.yaml:9: authority 'c': token_endpoint is required with discover: no",
        "r.yaml:12: authority 'd': unknown key 'colour'",
        "r.yaml:16: authority 'e' is registered twice",
    ]
