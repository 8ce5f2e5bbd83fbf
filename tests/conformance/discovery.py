"""The checks of oidcc-discovery-endpoint-verification, shared by the Config and Dynamic OP
plans: the discovery document holds what OpenID Connect Discovery 1.0 §3 requires, with
values the rest of the specifications allow, and its JWKS holds public keys only."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from konnect.keys import key_from_jwk

DISCOVERY_PATH = "/.well-known/openid-configuration"
#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
#: BCP 47 language tags, as far as the suite checks their syntax.
LOCALE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
#: OIDC Core §15.2: a dynamic OP supports these response and grant types.
DYNAMIC_RESPONSE_TYPES = ("code", "id_token", "id_token token")
DYNAMIC_GRANT_TYPES = ("authorization_code", "implicit")


def fetch_document(base_url: str) -> tuple[str, dict[str, Any]]:
    """The discovery document, fetched the way the suite does (status 200, JSON)."""
    url = base_url + DISCOVERY_PATH
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/json"
    document = response.json()
    assert isinstance(document, dict)
    return url, document


def check_issuer(url: str, meta: dict[str, Any]) -> None:
    issuer = meta["issuer"]
    assert url == issuer.rstrip("/") + DISCOVERY_PATH  # OIDC Discovery §4.3
    parts = urlsplit(issuer)
    assert parts.scheme in ("https", "http")
    assert parts.netloc
    assert not parts.query
    assert not parts.fragment


def check_endpoints(meta: dict[str, Any]) -> None:
    """Every endpoint is an absolute URL on the issuer's scheme: https in production; the
    suite's https rule holds whenever the issuer itself is https."""
    scheme = urlsplit(meta["issuer"]).scheme
    for name in ENDPOINTS:
        assert isinstance(meta.get(name), str), f"{name} missing"
    for name, value in meta.items():
        if name.endswith(("_endpoint", "_uri", "_iframe")):
            parts = urlsplit(value)
            assert parts.scheme == scheme, f"{name}: {value}"
            assert parts.netloc, f"{name}: {value}"


def check_supported_values(meta: dict[str, Any], *, dynamic: bool) -> None:
    response_types = {" ".join(sorted(value.split())) for value in meta["response_types_supported"]}
    required = DYNAMIC_RESPONSE_TYPES if dynamic else ("code",)
    for value in required:
        assert " ".join(sorted(value.split())) in response_types, value
    assert set(meta["subject_types_supported"]) <= {"public", "pairwise"}
    assert meta["subject_types_supported"]
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    for name in ("id_token_signing_alg_values_supported", "userinfo_signing_alg_values_supported"):
        assert all(isinstance(alg, str) and alg for alg in meta.get(name, []))
    grant_types = meta.get("grant_types_supported", ["authorization_code", "implicit"])
    for value in DYNAMIC_GRANT_TYPES if dynamic else ("authorization_code",):
        assert value in grant_types, value
    scopes = meta["scopes_supported"]
    assert "openid" in scopes
    assert all(SCOPE_TOKEN.match(scope) for scope in scopes)
    for name in ("ui_locales_supported", "claims_locales_supported"):
        assert all(LOCALE.match(tag) for tag in meta.get(name, []))
    assert isinstance(meta.get("code_challenge_methods_supported", []), list)
    assert isinstance(meta.get("claims_supported"), list)  # recommended: a warning otherwise
    assert isinstance(meta.get("claims_parameter_supported", False), bool)
    assert "RS256" in meta.get("request_object_signing_alg_values_supported", ["RS256"])


def check_jwks(meta: dict[str, Any]) -> None:
    """The keys parse, and none is private or symmetric (RFC 7518 §6.3.2.1)."""
    response = httpx.get(meta["jwks_uri"])
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] != "oct"
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key)
        assert key.get("use", "sig") in ("sig", "enc")
        key_from_jwk(key)


def oidcc_discovery_endpoint_verification(base_url: str, *, dynamic: bool) -> dict[str, Any]:
    url, meta = fetch_document(base_url)
    check_issuer(url, meta)
    check_endpoints(meta)
    check_supported_values(meta, dynamic=dynamic)
    check_jwks(meta)
    if dynamic:
        assert meta["registration_endpoint"].startswith(meta["issuer"] + "/")
    else:
        assert "registration_endpoint" not in meta
    return meta
