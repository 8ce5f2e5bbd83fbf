"""Claims, scopes and tokens under attack: the `claims` parameter never releases more than the
granted scopes, only signed request objects reach `kc.authorizedClaims`, client_credentials
tokens carry only the scopes an operator listed, and introspection tells a client about its
own tokens only (unless it is a resource server)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from konnect.clients import ClientRegistration
from konnect.clients.dynamic import DynamicClients
from konnect.crypto.sealing import Sealer
from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.flows.test_consent_and_prompts import (
    AUTHORIZE,
    UNTRUSTED,
    claims_of,
    consent,
    exchange,
    hello,
    query_of,
)

TOKEN = "/konnect/v1/token"
INTROSPECT = "/konnect/v1/introspect"
#: Every claim of jonas beyond openid's: what a claims request may try to get.
EVERYTHING = {
    name: {"essential": True}
    for name in ("name", "email", "email_verified", "groups", "kc.uuid", "id", "username")
}
BEYOND_PROFILE = ("email", "email_verified", "groups", "kc.uuid", "id", "username")


def userinfo(server: RunningServer, access_token: str) -> dict[str, Any]:
    response = httpx.get(
        server.url + "/konnect/v1/userinfo", headers={"Authorization": "Bearer " + access_token}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def signed_in_answer(server: RunningServer, **params: str) -> dict[str, list[str]]:
    """The redirect's query of a trusted-app code request by a signed-in jonas."""
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **params)))
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])


def code_tokens(server: RunningServer, **params: str) -> dict[str, str]:
    code = signed_in_answer(server, **params)["code"][0]
    if params.get("client_id") != "signing-app":
        return exchange(server, code)
    form = code_request(code, client_id="signing-app")  # a public client
    response = httpx.post(server.url + TOKEN, data=form)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- the claims parameter -------------------------------------------------------------------


def test_claims_never_pass_what_the_user_consented_to(server: RunningServer) -> None:
    """An untrusted client asks for every claim by name; the consent screen shows the scopes
    they need, the user allows only openid, and nothing else is released."""
    claims = json.dumps({"id_token": EVERYTHING, "userinfo": EVERYTHING})
    params = good_params(scope="openid", claims=claims, **UNTRUSTED)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        first = client.get(AUTHORIZE + "?" + urlencode(params))
        shown = query_of(first.headers["location"])["claims_scope"][0].split()
        assert {"profile", "email", "groups", "konnect/uuid", "konnect/id"} <= set(shown)
        asked = hello(client, server.url, scope=" ".join(["openid", *shown]), **UNTRUSTED)
        assert {"email", "groups"} <= set(asked.json()["scopes"])
        assert consent(client, server.url, allow=True, scope="openid").status_code == 200
        done = client.get(
            AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"})
        )
    result = query_of(done.headers["location"])
    assert result["scope"] == ["openid"]
    response = httpx.post(
        server.url + TOKEN,
        data=code_request(result["code"][0], redirect_uri=UNTRUSTED["redirect_uri"]),
        auth=("untrusted-app", "untrusted-secret"),
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    for released in (claims_of(tokens["id_token"]), userinfo(server, tokens["access_token"])):
        assert not set(EVERYTHING) & set(released), released


def test_claims_never_pass_allowed_scopes(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(allowed_scopes=("profile",))
    claims = json.dumps({"id_token": EVERYTHING, "userinfo": EVERYTHING})
    answer = signed_in_answer(server, scope="openid", claims=claims)
    assert answer["scope"] == ["openid profile"]
    tokens = exchange(server, answer["code"][0])
    for released in (claims_of(tokens["id_token"]), userinfo(server, tokens["access_token"])):
        assert released["name"] == "Jonas Brekke"
        assert not set(BEYOND_PROFILE) & set(released), released


def test_a_claim_named_requests_its_scope(server: RunningServer) -> None:
    claims = {"id_token": {"email": {"essential": True}}, "userinfo": {"groups": None}}
    answer = signed_in_answer(server, scope="openid", claims=json.dumps(claims))
    assert answer["scope"] == ["openid email groups"]
    tokens = exchange(server, answer["code"][0])
    assert claims_of(tokens["id_token"])["email"] == "jonas@example.com"
    assert userinfo(server, tokens["access_token"])["groups"] == ["staff"]


def test_unsigned_claims_never_reach_access_tokens(server: RunningServer) -> None:
    """Passthru and custom values in a plain `claims` parameter are not signed into tokens."""
    claims = {
        "passthru": {"kopano/kwm/guest": {"type": "1", "path": "group/private/board"}},
        "userinfo": {"role": {"value": "admin"}},
        "id_token": {"role": {"value": "admin"}},
    }
    tokens = code_tokens(server, claims=json.dumps(claims))
    access = claims_of(tokens["access_token"])
    assert "kc.authorizedClaims" not in access
    assert "role" not in claims_of(tokens["id_token"])
    assert "role" not in userinfo(server, tokens["access_token"])


def test_signed_claims_reach_access_tokens_and_unsigned_ones_beside_them_do_not(
    server: RunningServer, client_key: ECKey
) -> None:
    signed = {"passthru": {"app/room": "signed"}}
    request = jwt.encode(
        {"alg": "ES256", "kid": client_key.kid},
        {"client_id": "signing-app", "claims": signed},
        client_key,
        algorithms=["ES256"],
    )
    outer = {"passthru": {"app/room": "forged"}}
    tokens = code_tokens(server, client_id="signing-app", request=request, claims=json.dumps(outer))
    assert claims_of(tokens["access_token"])["kc.authorizedClaims"] == signed
    plain = jwt.encode(
        {"alg": "ES256", "kid": client_key.kid}, {"client_id": "signing-app"}, client_key
    )
    tokens = code_tokens(server, client_id="signing-app", request=plain, claims=json.dumps(outer))
    assert "kc.authorizedClaims" not in claims_of(tokens["access_token"])


def test_a_pinned_sub_answers_for_that_user_only(server: RunningServer) -> None:
    """OpenID Connect Core §5.5.1, as Konnect: another sub is access_denied."""
    sub = claims_of(code_tokens(server)["id_token"])["sub"]
    other = json.dumps({"id_token": {"sub": {"value": "someone-else@konnect"}}})
    refused = signed_in_answer(server, claims=other)
    assert refused["error"] == ["access_denied"]
    assert refused["state"] == ["st"]
    mine = json.dumps({"id_token": {"sub": {"value": sub}, "auth_time": {"essential": True}}})
    identity = claims_of(code_tokens(server, claims=mine)["id_token"])
    assert identity["sub"] == sub
    assert isinstance(identity["auth_time"], int)
    among = json.dumps({"id_token": {"sub": {"values": ["someone-else@konnect", sub]}}})
    assert "code" in signed_in_answer(server, claims=among)


# -- client_credentials and introspection -----------------------------------------------------


@pytest.fixture
def service_server(
    server_factory: Callable[..., RunningServer], config_dir: Path, tmp_path: Path
) -> RunningServer:
    registry = tmp_path / "service-registry.yaml"
    registry.write_text(
        (config_dir / "registry.yaml").read_text()
        + """
  - id: kwm-service
    secret: kwm-secret
    grant_types: [client_credentials]
    client_credentials_scopes: [kopano/kwm]
    redirect_uris: [https://service.example.com/cb]
  - id: unlisted-service
    secret: unlisted-secret
    grant_types: [client_credentials]
    redirect_uris: [https://service.example.com/cb]
  - id: resource-server
    secret: rs-secret
    resource_server: yes
    redirect_uris: [https://rs.example.com/cb]
"""
    )
    return server_factory(
        identifier_registration_conf=registry, allow_dynamic_client_registration=True
    )


def client_credentials(
    server: RunningServer, auth: tuple[str, str], scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return httpx.post(server.url + TOKEN, data=data, auth=auth)


def test_anonymous_registrations_get_no_client_credentials(service_server: RunningServer) -> None:
    registration = httpx.post(
        service_server.url + "/konnect/v1/register",
        json={
            "redirect_uris": ["https://a.example.org/cb"],
            "grant_types": ["authorization_code", "client_credentials"],
        },
    )
    assert registration.status_code == 400, registration.text
    assert registration.json()["error"] == "invalid_client_metadata"


def test_a_dynamic_client_sealed_with_client_credentials_gets_no_token(
    service_server: RunningServer, key_dir: Path
) -> None:
    """A registration made before client_credentials was refused still names the grant."""
    sealer = Sealer((key_dir / "secret.key").read_bytes())
    metadata = ClientRegistration(
        id="",
        redirect_uris=("https://a.example.org/cb",),
        grant_types=("authorization_code", "client_credentials"),
        token_endpoint_auth_method="client_secret_basic",
        client_credentials_scopes=("kopano/kwm/admin",),
        resource_server=True,
    )
    old = DynamicClients(sealer, time.time).register(metadata, with_secret=True).client
    assert old.secret is not None
    response = client_credentials(service_server, (old.id, old.secret), "kopano/kwm/admin")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unauthorized_client"


def test_client_credentials_carry_only_the_listed_scopes(service_server: RunningServer) -> None:
    auth = ("kwm-service", "kwm-secret")
    asked = client_credentials(service_server, auth, "openid kopano/kwm kopano/kwm/admin")
    assert asked.status_code == 200, asked.text
    assert asked.json()["scope"] == "kopano/kwm"
    assert claims_of(asked.json()["access_token"])["kc.authorizedScopes"] == ["kopano/kwm"]
    assert client_credentials(service_server, auth).json()["scope"] == "kopano/kwm"
    unlisted = client_credentials(service_server, ("unlisted-service", "unlisted-secret"), "email")
    assert unlisted.status_code == 200, unlisted.text
    assert claims_of(unlisted.json()["access_token"])["kc.authorizedScopes"] == []


def introspect(server: RunningServer, token: str, auth: tuple[str, str]) -> dict[str, Any]:
    response = httpx.post(server.url + INTROSPECT, data={"token": token}, auth=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_clients_introspect_only_their_own_tokens(service_server: RunningServer) -> None:
    tokens = code_tokens(service_server, scope="openid offline_access")
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    stranger = httpx.post(
        service_server.url + "/konnect/v1/register",
        json={"redirect_uris": ["https://a.example.org/cb"]},
    ).json()
    for auth in (
        ("untrusted-app", "untrusted-secret"),
        ("kwm-service", "kwm-secret"),
        (stranger["client_id"], stranger["client_secret"]),
    ):
        assert introspect(service_server, access, auth) == {"active": False}
        assert introspect(service_server, refresh, auth) == {"active": False}
    own = ("trusted-app", "trusted-secret")
    assert introspect(service_server, access, own)["active"] is True
    assert introspect(service_server, refresh, own)["active"] is True
    resource_server = ("resource-server", "rs-secret")
    assert introspect(service_server, access, resource_server)["client_id"] == "trusted-app"
    assert introspect(service_server, refresh, resource_server) == {"active": False}


def test_refresh_tokens_sealed_with_an_unsigned_claims_request_drop_it(
    server: RunningServer, key_dir: Path
) -> None:
    """Grants sealed before only signed claims were kept may carry a forged passthru; a refresh
    must not sign it into new access tokens."""
    refresh_token = code_tokens(server, scope="openid offline_access")["refresh_token"]
    sealer = Sealer((key_dir / "secret.key").read_bytes())
    record = sealer.open_json(refresh_token, "konnect-refresh-v1")
    assert record is not None
    record["cl"] = {"passthru": {"kopano/kwm/guest": {"type": "1", "path": "group/private/x"}}}
    forged = sealer.seal(json.dumps(record).encode(), "konnect-refresh-v1")
    response = httpx.post(
        server.url + TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": forged},
        auth=("trusted-app", "trusted-secret"),
    )
    assert response.status_code == 200, response.text
    assert "kc.authorizedClaims" not in claims_of(response.json()["access_token"])
