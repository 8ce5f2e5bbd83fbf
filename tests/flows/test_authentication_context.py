"""How the user signed in, in tokens: `amr` (RFC 8176) always, `acr` with `auth_time` when a
relying party asks (acr_values, an acr claim, its default_acr_values), an essential acr that
cannot be met answered with `unmet_authentication_requirements`, the client metadata
default_max_age and require_auth_time, and refreshes that keep what the sign-in was."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from konnect.http.app import Overrides
from konnect.oidc.acr import MFA, SFA, check_met
from konnect.oidc.errors import OAuthError
from tests.conftest import Clock, RunningServer, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.flows.test_claims_scopes_tokens import signed_in_answer
from tests.flows.test_consent_and_prompts import AUTHORIZE, claims_of, query_of
from tests.flows.test_relying_party_flow import (
    authorize_in_browser,
    discovery,
    relying_party,
    validate_id_token,
)

TOKEN = "/konnect/v1/token"
INTROSPECT = "/konnect/v1/introspect"
#: A fixed clock near the real time: authlib's client checks iat and exp against its own.
SIGNED_IN_AT = int(time.time()) - 60
TRUSTED = ("trusted-app", "trusted-secret")
#: Clients with the OIDC Registration §2 metadata, beside the usual ones.
MORE_CLIENTS = """
  - id: aged-app
    name: Aged App
    trusted: yes
    secret: aged-secret
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    default_max_age: 300
  - id: timed-app
    name: Timed App
    trusted: yes
    secret: timed-secret
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    require_auth_time: yes
  - id: bronze-app
    name: Bronze App
    trusted: yes
    secret: bronze-secret
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    default_acr_values: [bronze]
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(float(SIGNED_IN_AT))


@pytest.fixture
def server(
    server_factory: Callable[..., RunningServer], config_dir: Path, clock: Clock
) -> RunningServer:
    registry = config_dir / "registry.yaml"
    registry.write_text(registry.read_text() + MORE_CLIENTS)
    return server_factory(
        Overrides(clock=clock),
        acr_aliases=(
            "bronze=https://refeds.org/profile/sfa",
            "gold=https://refeds.org/profile/mfa",
        ),
    )


def tokens(server: RunningServer, auth: tuple[str, str] = TRUSTED, **params: str) -> dict[str, Any]:
    code = signed_in_answer(server, client_id=auth[0], **params)["code"][0]
    response = httpx.post(server.url + TOKEN, data=code_request(code), auth=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def introspect(server: RunningServer, token: str) -> dict[str, Any]:
    response = httpx.post(server.url + INTROSPECT, data={"token": token}, auth=TRUSTED)
    assert response.status_code == 200, response.text
    return dict(response.json())


def essential_acr(*values: str) -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": list(values)}}})


# -- amr without asking, acr only when asked --------------------------------------------------


def test_a_password_sign_in_says_pwd_and_nothing_else_changes(server: RunningServer) -> None:
    """A relying party that asks for no acr sees `amr` and nothing else new (authlib's client)."""
    meta = discovery(server)
    rp = relying_party()
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    token = rp.fetch_token(
        meta["token_endpoint"],
        authorization_response=authorize_in_browser(server, url),
        code_verifier=verifier,
    )
    id_token = validate_id_token(server, token["id_token"], nonce)
    assert id_token["amr"] == ["pwd"]
    assert "acr" not in id_token
    assert "auth_time" not in id_token
    access = claims_of(token["access_token"])
    assert access["amr"] == ["pwd"]
    assert "acr" not in access
    assert "auth_time" not in access
    assert "acr" not in introspect(server, token["access_token"])


def test_acr_values_are_voluntary_and_the_level_met_is_reported(server: RunningServer) -> None:
    """Asked for mfa or sfa, a password sign-in is reported as sfa, with its auth_time."""
    mfa_first = f"{MFA} {SFA}"
    meta = discovery(server)
    rp = relying_party()
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, acr_values=mfa_first
    )
    token = rp.fetch_token(
        meta["token_endpoint"],
        authorization_response=authorize_in_browser(server, url),
        code_verifier=verifier,
    )
    id_token = validate_id_token(server, token["id_token"], nonce)
    assert (id_token["acr"], id_token["auth_time"], id_token["amr"]) == (SFA, SIGNED_IN_AT, ["pwd"])
    access = claims_of(token["access_token"])
    assert (access["acr"], access["auth_time"], access["amr"]) == (SFA, SIGNED_IN_AT, ["pwd"])


def test_the_level_is_reported_in_the_alias_the_client_asked_with(server: RunningServer) -> None:
    assert claims_of(tokens(server, acr_values="gold bronze")["id_token"])["acr"] == "bronze"
    # Only a level it cannot reach asked for: the level met itself.
    assert claims_of(tokens(server, acr_values="gold")["id_token"])["acr"] == SFA
    # Values konnect does not know are voluntary too.
    assert claims_of(tokens(server, acr_values="urn:example:loa:3")["id_token"])["acr"] == SFA


def test_a_non_essential_acr_claim_asks_for_the_acr(server: RunningServer) -> None:
    claims = json.dumps({"id_token": {"acr": None}})
    id_token = claims_of(tokens(server, claims=claims)["id_token"])
    assert (id_token["acr"], id_token["auth_time"]) == (SFA, SIGNED_IN_AT)


def test_default_acr_values_of_the_client_ask_when_the_request_does_not(
    server: RunningServer,
) -> None:
    id_token = claims_of(tokens(server, ("bronze-app", "bronze-secret"))["id_token"])
    assert (id_token["acr"], id_token["auth_time"]) == ("bronze", SIGNED_IN_AT)
    asked = tokens(server, ("bronze-app", "bronze-secret"), acr_values=SFA)["id_token"]
    assert claims_of(asked)["acr"] == SFA  # the request's acr_values replace the defaults


# -- essential acr ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        (MFA,),  # no sign-in here reaches it
        ("gold",),  # nor through an alias
        ("urn:example:loa:3",),  # unknown
        ("phr", "urn:example:loa:3"),
    ],
)
def test_an_essential_acr_that_cannot_be_met_answers_unmet(
    server: RunningServer, values: tuple[str, ...]
) -> None:
    result = signed_in_answer(server, claims=essential_acr(*values))
    assert result["error"] == ["unmet_authentication_requirements"]
    assert result["state"] == ["st"]
    assert result["iss"] == [server.url]
    assert "code" not in result


def test_an_essential_acr_that_is_met_is_reported(server: RunningServer) -> None:
    id_token = claims_of(tokens(server, claims=essential_acr(MFA, "bronze"))["id_token"])
    assert id_token["acr"] == "bronze"  # mfa or bronze (sfa): the weakest counts


def test_a_sign_in_below_the_essential_level_is_unmet() -> None:
    """The last check before tokens are made, once sign-ins can reach more than sfa."""
    with pytest.raises(OAuthError) as raised:
        check_met(SFA, MFA)
    assert raised.value.error == "unmet_authentication_requirements"
    check_met(MFA, MFA)
    check_met(SFA, None)


# -- client metadata -------------------------------------------------------------------------


def test_default_max_age_forces_a_new_sign_in_and_adds_auth_time(
    server: RunningServer, clock: Clock
) -> None:
    aged = {"client_id": "aged-app"}
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        fresh = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **aged)))
        code = query_of(fresh.headers["location"])["code"][0]
        response = httpx.post(
            server.url + TOKEN, data=code_request(code), auth=("aged-app", "aged-secret")
        )
        assert claims_of(response.json()["id_token"])["auth_time"] == SIGNED_IN_AT
        clock.advance(301)
        stale = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **aged)))
        assert query_of(stale.headers["location"])["error"] == ["login_required"]
        # The request's own max_age overrides the default.
        params = good_params(prompt="none", max_age="400", **aged)
        later = client.get(AUTHORIZE + "?" + urlencode(params))
        assert "code" in query_of(later.headers["location"])


def test_require_auth_time_puts_auth_time_into_every_id_token(server: RunningServer) -> None:
    timed = tokens(server, ("timed-app", "timed-secret"))
    assert claims_of(timed["id_token"])["auth_time"] == SIGNED_IN_AT
    assert "acr" not in claims_of(timed["id_token"])
    assert "auth_time" not in claims_of(tokens(server)["id_token"])


# -- discovery, introspection, refresh -------------------------------------------------------


def test_discovery_lists_the_acr_values_and_the_claims(server: RunningServer) -> None:
    meta = discovery(server)
    assert meta["acr_values_supported"] == [SFA, MFA, "phr", "bronze", "gold"]
    assert {"amr", "acr", "auth_time"} <= set(meta["claims_supported"])


def test_introspection_and_refresh_keep_how_the_user_signed_in(
    server: RunningServer, clock: Clock
) -> None:
    first = tokens(server, scope="openid offline_access", acr_values="bronze")
    expected = {"amr": ["pwd"], "acr": "bronze", "auth_time": SIGNED_IN_AT}
    for token in (first["access_token"], first["refresh_token"]):
        about = introspect(server, token)
        assert {name: about.get(name) for name in expected} == expected
    clock.advance(3600)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refreshed = httpx.post(server.url + TOKEN, data=data, auth=TRUSTED)
    assert refreshed.status_code == 200, refreshed.text
    access = claims_of(refreshed.json()["access_token"])
    assert {name: access.get(name) for name in expected} == expected
    about = introspect(server, refreshed.json()["refresh_token"])
    assert {name: about.get(name) for name in expected} == expected


def test_dynamic_clients_register_the_metadata_and_get_it_echoed(
    server_factory: Callable[..., RunningServer],
) -> None:
    dynamic = server_factory(allow_dynamic_client_registration=True)
    metadata = {
        "redirect_uris": ["http://127.0.0.1:9999/cb"],
        "application_type": "native",
        "default_acr_values": [SFA],
        "default_max_age": 0,
        "require_auth_time": True,
    }
    response = httpx.post(dynamic.url + "/konnect/v1/register", json=metadata)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["default_acr_values"], body["default_max_age"]) == ([SFA], 0)
    assert body["require_auth_time"] is True
    read = httpx.get(
        body["registration_client_uri"],
        headers={"Authorization": "Bearer " + body["registration_access_token"]},
    )
    assert read.json()["default_max_age"] == 0  # a value, not a missing one


@pytest.mark.parametrize(
    ("name", "value"),
    [("default_max_age", "soon"), ("default_max_age", -1), ("default_acr_values", SFA)],
)
def test_dynamic_registration_refuses_wrong_values(
    server_factory: Callable[..., RunningServer], name: str, value: object
) -> None:
    dynamic = server_factory(allow_dynamic_client_registration=True)
    metadata = {"redirect_uris": ["https://a.example.org/cb"], name: value}
    response = httpx.post(dynamic.url + "/konnect/v1/register", json=metadata)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
