"""The scope catalog (built-ins, scopes.yaml, --allow-scope) and the error status table."""

from __future__ import annotations

from pathlib import Path

import pytest

from konnect.config.errors import ConfigError
from konnect.oidc.errors import STATUS_BY_ERROR, OAuthError
from konnect.oidc.scopes import build_catalog

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_and_backend_scopes() -> None:
    catalog = build_catalog(None, ("profile", "email"))
    assert catalog.filter_supported(["openid", "profile", "bogus", "offline_access"]) == [
        "openid",
        "profile",
        "offline_access",
    ]
    meta = catalog.meta(["openid", "profile", "offline_access"])
    assert meta["mapping"] == {"openid": "basic", "profile": "basic"}
    assert meta["definitions"]["basic"] == {"priority": 20, "id": "scope_alias_basic"}
    assert meta["definitions"]["offline_access"]["id"] == "scope_offline_access"


def test_scopes_file_adds_scopes_and_descriptions() -> None:
    catalog = build_catalog(ROOT / "etc" / "scopes.yaml", ("profile",))
    assert "kopano/kwm" in catalog.supported
    assert "meetings" not in catalog.supported
    meta = catalog.meta(["kopano/kwm"])
    assert meta["mapping"] == {}
    assert meta["definitions"]["kopano/kwm"]["description"] == "Join and host meetings"


def test_allow_scope_replaces_the_list() -> None:
    catalog = build_catalog(None, ("profile", "email"), ("email",))
    assert catalog.filter_supported(["openid", "profile", "email"]) == ["openid", "email"]


def test_bad_scopes_file_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "scopes.yaml"
    path.write_text("scopes:\n  a: {priority: high, colour: red}\n  b: nope\n")
    with pytest.raises(ConfigError) as caught:
        build_catalog(path, ())
    assert len(caught.value.problems) == 3
    path.write_text("scopes: [unclosed\n")
    with pytest.raises(ConfigError, match=r"scopes.yaml:\d+: invalid YAML"):
        build_catalog(path, ())


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("invalid_request", 400),
        ("invalid_client", 401),
        ("invalid_grant", 400),
        ("invalid_token", 401),
        ("insufficient_scope", 403),
        ("temporarily_unavailable", 503),
        ("slow_down", 429),
        ("something_new", 400),
    ],
)
def test_error_status_table(error: str, status: int) -> None:
    assert OAuthError(error).status == status


def test_error_bodies_never_carry_detail() -> None:
    error = OAuthError("invalid_grant", "bad code", detail="secret internals")
    assert error.as_dict() == {"error": "invalid_grant", "error_description": "bad code"}
    assert "server_error" in STATUS_BY_ERROR
