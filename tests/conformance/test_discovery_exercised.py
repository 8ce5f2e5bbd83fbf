"""Discovery lists exactly what konnect implements: each key of the document konnect serves,
and each value of its lists, is exercised against that running konnect (dynamic registration
on, so registration_endpoint is listed too). `ADVERTISED` maps every key to its exercise and
to the values it covers; the guard fails when discovery advertises a key or value the table
does not cover, and an exercise fails when discovery no longer advertises its value. The
other way round, every claim the demo user can get must be in claims_supported."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from konnect.config.model import ACR_LEVELS
from konnect.oidc.authorize import RESPONSE_MODES, RESPONSE_TYPES
from konnect.oidc.claims import SCOPE_CLAIMS
from konnect.oidc.discovery import ID_TOKEN_CLAIMS
from tests.conformance import modules
from tests.conformance.channels import check_post_logout_redirect, open_end_session
from tests.conformance.discovery import check_issuer, check_jwks, fetch_document
from tests.conformance.dynamic import client_flow, registered
from tests.conformance.exercises import (
    caller,
    channel_logout,
    emitted_claims,
    introspect_own_token,
    introspected,
    method_for,
    request_object_flow,
    revoke_own_token,
    token_for,
)
from tests.conformance.flow import finish_flow, run_flow
from tests.conformance.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    CODE,
    SECOND_CLIENT_ID,
    SECOND_CLIENT_SECRET,
    Conformance,
    Profile,
)
from tests.conformance.logout import (
    RP_ORIGIN,
    browser_state,
    check_session_answer,
    signed_in,
    still_signed_in,
)

#: The value of a key that holds one string (a URL, the issuer), whatever it is.
TEXT = "<text>"
HMAC_ALGS = ("HS256", "HS384", "HS512")
RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
ASYMMETRIC_ALGS = (*RSA_ALGS, "ES256", "ES384", "ES512", "EdDSA")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")
SCOPES = (
    "openid",
    "offline_access",
    "profile",
    "email",
    "konnect/id",
    "konnect/uuid",
    "konnect/raw_sub",
    "groups",
)
#: The demo user's claims: those of the scopes that have claims.
USER_CLAIMS = tuple(name for scope in SCOPES for name in SCOPE_CLAIMS.get(scope, ()))
#: The authentication levels, and those a password sign-in reaches.
ACR_VALUES = ACR_LEVELS
REACHED_ACR = (ACR_LEVELS[0],)
#: What each response type delivers at the redirect URI.
DELIVERS = {"code": "code", "token": "access_token", "id_token": "id_token"}
Exercise = Callable[[Conformance, httpx.Client, Any], None]


#: A service of the registry that may use client_credentials, and with which scope.
SERVICE = ("conformance-service", "conformance-service-secret")
SERVICE_ENTRY = f"""
  - id: {SERVICE[0]}
    secret: {SERVICE[1]}
    grant_types: [client_credentials]
    client_credentials_scopes: [kopano/kwm]
    redirect_uris: [https://service.example.com/cb]
"""


@pytest.fixture(scope="module")
def conformance_settings() -> dict[str, Any]:
    return {"allow_dynamic_client_registration": True, "extra_clients": SERVICE_ENTRY}


# -- endpoints and the issuer -----------------------------------------------------------------


def issuer(conf: Conformance, browser: httpx.Client, value: str) -> None:
    check_issuer(*fetch_document(conf.url))
    assert run_flow(conf, browser, CODE).claims["iss"] == value


def authorization_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    assert conf.is_login_page(browser.get(url, params=conf.request(CODE)))


def token_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    assert run_flow(conf, browser, CODE).token_response["access_token"]


def userinfo_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    modules.check_userinfo(conf, run_flow(conf, browser, CODE), "get")


def jwks_uri(conf: Conformance, browser: httpx.Client, url: str) -> None:
    check_jwks(conf.meta)
    modules.oidcc_idtoken_signature(conf, browser, CODE)


def end_session_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    flow = signed_in(conf, browser)
    assert flow.id_token
    check_post_logout_redirect(open_end_session(conf, browser, flow.id_token).headers["location"])
    assert not still_signed_in(conf, browser)


def revocation_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    flow = run_flow(conf, browser, CODE)
    assert flow.access_token
    response = httpx.post(url, data={"token": flow.access_token}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.text
    assert conf.userinfo(flow.access_token).status_code == 401


def introspection_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    flow = run_flow(conf, browser, CODE)
    assert flow.access_token
    answer = introspected(conf, flow.access_token)
    assert answer["active"] is True
    assert answer["sub"] == flow.claims["sub"]


def check_session_iframe(conf: Conformance, browser: httpx.Client, url: str) -> None:
    page = httpx.get(url)
    assert page.status_code == 200
    assert 'addEventListener("message"' in page.text
    session_state = signed_in(conf, browser).response["session_state"]
    answer = check_session_answer(CLIENT_ID, RP_ORIGIN, session_state, browser_state(browser))
    assert answer == "unchanged"


def registration_endpoint(conf: Conformance, browser: httpx.Client, url: str) -> None:
    assert url.startswith(conf.meta["issuer"] + "/")
    assert client_flow(conf, browser, registered(conf)).access_token


# -- what the authorization endpoint supports ---------------------------------------------------


def scope(conf: Conformance, browser: httpx.Client, value: str) -> None:
    flow = run_flow(conf, browser, CODE, scope=" ".join(dict.fromkeys(("openid", value))))
    assert value in flow.token_response["scope"].split()


def response_type(conf: Conformance, browser: httpx.Client, value: str) -> None:
    flow = run_flow(conf, browser, Profile(value))
    assert {DELIVERS[part] for part in value.split()} <= set(flow.response.params)


def response_mode(conf: Conformance, browser: httpx.Client, value: str) -> None:
    assert run_flow(conf, browser, Profile("code", value)).response.channel == value


def implicit(conf: Conformance, browser: httpx.Client) -> None:
    flow = run_flow(conf, browser, Profile("id_token token"))
    assert flow.response.get("access_token")
    assert "code" not in flow.response.params


def client_credentials(conf: Conformance, browser: httpx.Client) -> None:
    data = {"grant_type": "client_credentials", "scope": "kopano/kwm"}
    response = httpx.post(conf.meta["token_endpoint"], data=data, auth=SERVICE)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "kopano/kwm"
    assert introspected(conf, response.json()["access_token"])["active"] is True


GRANTS: dict[str, Callable[[Conformance, httpx.Client], None]] = {
    "authorization_code": lambda conf, browser: modules.oidcc_server(conf, browser, CODE),
    "implicit": implicit,
    "refresh_token": lambda conf, browser: modules.oidcc_refresh_token(conf, browser, CODE),
    "client_credentials": client_credentials,
}


def grant_type(conf: Conformance, browser: httpx.Client, value: str) -> None:
    GRANTS[value](conf, browser)


def subject_type(conf: Conformance, browser: httpx.Client, value: str) -> None:
    """public: every client sees the same sub for the user."""
    first = run_flow(conf, browser, CODE)
    second = run_flow(conf, browser, CODE, client=(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET))
    assert first.claims["sub"] == second.claims["sub"]


def code_challenge_method(conf: Conformance, browser: httpx.Client, value: str) -> None:
    modules.oidcc_ensure_request_with_valid_pkce_succeeds(conf, browser, CODE)


def claim(conf: Conformance, browser: httpx.Client, value: str) -> None:
    assert value in emitted_claims(conf, browser)


def acr_value(conf: Conformance, browser: httpx.Client, value: str) -> None:
    """Demanded as essential, an acr value is met and reported as asked, or, when no
    sign-in here reaches it, refused as unmet: never ignored."""
    essential = json.dumps({"id_token": {"acr": {"essential": True, "value": value}}})
    params = conf.request(CODE, claims=essential)
    response = conf.authorize(browser, params)
    if value not in REACHED_ACR:
        assert response.get("error") == "unmet_authentication_requirements"
        return
    assert finish_flow(conf, CODE, params, response).claims["acr"] == value


def claims_parameter(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    modules.oidcc_claims_essential(conf, browser, CODE)


def request_parameter(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    modules.oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
        conf, browser, CODE
    )


def request_object_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    request_object_flow(conf, browser, value)


def request_uri_parameter(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    modules.oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
        conf, browser, CODE
    )


def require_request_uri_registration(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    """A request_uri the client did not register is refused, and never fetched."""
    assert conf.request_objects is not None
    unregistered = "/unregistered.jwt"
    conf.request_objects.documents[unregistered] = "never.read."
    conf.sign_in(browser)
    params = conf.request(CODE, request_uri=conf.request_objects.url + unregistered)
    assert conf.delivered(conf.open_authorize(browser, params))["error"] == "invalid_request_uri"
    assert not conf.request_objects.at(unregistered)


def iss_parameter(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    """RFC 9207: iss in error responses and in successful ones."""
    refused = conf.delivered(conf.open_authorize(browser, conf.request(CODE, prompt="none")))
    assert refused["error"] == "login_required"
    assert refused["iss"] == conf.meta["issuer"]
    assert run_flow(conf, browser, CODE).response["iss"] == conf.meta["issuer"]


# -- signing algorithms -------------------------------------------------------------------------


def id_token_signing_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    flow = client_flow(conf, browser, registered(conf, id_token_signed_response_alg=value))
    assert flow.id_token
    header, _ = conf.decode_id_token(flow.id_token)
    assert header["alg"] == value


def userinfo_signing_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    flow = client_flow(conf, browser, registered(conf, userinfo_signed_response_alg=value))
    assert flow.access_token
    response = conf.userinfo(flow.access_token)
    assert response.headers["content-type"].split(";")[0] == "application/jwt"
    header, claims = conf.verify_jwt(response.text)
    assert header["alg"] == value
    assert claims["sub"] == flow.claims["sub"]


# -- client authentication ----------------------------------------------------------------------


def token_auth_method(conf: Conformance, browser: httpx.Client, value: str) -> None:
    token_for(conf, browser, caller(conf, value))


def token_auth_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    token_for(conf, browser, caller(conf, method_for(value), value))


def revocation_auth_method(conf: Conformance, browser: httpx.Client, value: str) -> None:
    revoke_own_token(conf, browser, caller(conf, value))


def revocation_auth_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    revoke_own_token(conf, browser, caller(conf, method_for(value), value))


def introspection_auth_method(conf: Conformance, browser: httpx.Client, value: str) -> None:
    introspect_own_token(conf, browser, caller(conf, value))


def introspection_auth_alg(conf: Conformance, browser: httpx.Client, value: str) -> None:
    introspect_own_token(conf, browser, caller(conf, method_for(value), value))


# -- logout -------------------------------------------------------------------------------------


def frontchannel_logout(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    _, received = channel_logout(conf, browser, "frontchannel", session=False)
    assert received.method == "GET"
    assert not still_signed_in(conf, browser)


def frontchannel_logout_session(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    flow, received = channel_logout(conf, browser, "frontchannel", session=True)
    assert received.query["iss"] == [conf.meta["issuer"]]
    assert received.query["sid"] == [flow.claims["sid"]]


def backchannel_logout(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    flow, received = channel_logout(conf, browser, "backchannel", session=False)
    header, claims = conf.verify_jwt(received.form["logout_token"][0])
    assert header["typ"] == "logout+jwt"
    assert claims["aud"] == flow.claims["aud"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]


def backchannel_logout_session(conf: Conformance, browser: httpx.Client, value: bool) -> None:
    flow, received = channel_logout(conf, browser, "backchannel", session=True)
    _, claims = conf.verify_jwt(received.form["logout_token"][0])
    assert claims["sid"] == flow.claims["sid"]


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advertised:
    """The exercise of one discovery key, and the values of it that it covers."""

    exercise: Exercise
    values: tuple[Any, ...] = (TEXT,)


SUPPORTED = (True,)
ADVERTISED: dict[str, Advertised] = {
    "issuer": Advertised(issuer),
    "authorization_endpoint": Advertised(authorization_endpoint),
    "token_endpoint": Advertised(token_endpoint),
    "userinfo_endpoint": Advertised(userinfo_endpoint),
    "jwks_uri": Advertised(jwks_uri),
    "end_session_endpoint": Advertised(end_session_endpoint),
    "revocation_endpoint": Advertised(revocation_endpoint),
    "introspection_endpoint": Advertised(introspection_endpoint),
    "check_session_iframe": Advertised(check_session_iframe),
    "registration_endpoint": Advertised(registration_endpoint),
    "scopes_supported": Advertised(scope, SCOPES),
    "response_types_supported": Advertised(response_type, RESPONSE_TYPES),
    "response_modes_supported": Advertised(response_mode, RESPONSE_MODES),
    "grant_types_supported": Advertised(grant_type, tuple(GRANTS)),
    "subject_types_supported": Advertised(subject_type, ("public",)),
    "id_token_signing_alg_values_supported": Advertised(id_token_signing_alg, RSA_ALGS),
    "userinfo_signing_alg_values_supported": Advertised(userinfo_signing_alg, RSA_ALGS),
    "token_endpoint_auth_methods_supported": Advertised(token_auth_method, (*AUTH_METHODS, "none")),
    "token_endpoint_auth_signing_alg_values_supported": Advertised(
        token_auth_alg, (*HMAC_ALGS, *ASYMMETRIC_ALGS)
    ),
    "revocation_endpoint_auth_methods_supported": Advertised(
        revocation_auth_method, (*AUTH_METHODS, "none")
    ),
    "revocation_endpoint_auth_signing_alg_values_supported": Advertised(
        revocation_auth_alg, (*HMAC_ALGS, *ASYMMETRIC_ALGS)
    ),
    "introspection_endpoint_auth_methods_supported": Advertised(
        introspection_auth_method, AUTH_METHODS
    ),
    "introspection_endpoint_auth_signing_alg_values_supported": Advertised(
        introspection_auth_alg, (*HMAC_ALGS, *ASYMMETRIC_ALGS)
    ),
    "code_challenge_methods_supported": Advertised(code_challenge_method, ("S256",)),
    "claims_supported": Advertised(claim, (*ID_TOKEN_CLAIMS, *USER_CLAIMS)),
    "acr_values_supported": Advertised(acr_value, ACR_VALUES),
    "claims_parameter_supported": Advertised(claims_parameter, SUPPORTED),
    "request_parameter_supported": Advertised(request_parameter, SUPPORTED),
    "request_object_signing_alg_values_supported": Advertised(
        request_object_alg, (*ASYMMETRIC_ALGS, "none")
    ),
    "request_uri_parameter_supported": Advertised(request_uri_parameter, SUPPORTED),
    "require_request_uri_registration": Advertised(require_request_uri_registration, SUPPORTED),
    "authorization_response_iss_parameter_supported": Advertised(iss_parameter, SUPPORTED),
    "frontchannel_logout_supported": Advertised(frontchannel_logout, SUPPORTED),
    "frontchannel_logout_session_supported": Advertised(frontchannel_logout_session, SUPPORTED),
    "backchannel_logout_supported": Advertised(backchannel_logout, SUPPORTED),
    "backchannel_logout_session_supported": Advertised(backchannel_logout_session, SUPPORTED),
}
CASES = [(key, value) for key, entry in ADVERTISED.items() for value in entry.values]


def advertised(document: dict[str, Any]) -> set[tuple[str, Any]]:
    """(key, value) for each value of each list, and for each single value (any text as TEXT)."""
    pairs: set[tuple[str, Any]] = set()
    for key, value in document.items():
        items = value if isinstance(value, list) else [TEXT if isinstance(value, str) else value]
        pairs.update((key, item) for item in items)
    return pairs


def case_id(key: str, value: Any) -> str:
    return key if value in (TEXT, True) else f"{key}={value}"


def test_discovery_advertises_nothing_without_an_exercise(conf: Conformance) -> None:
    _, document = fetch_document(conf.url)
    assert sorted(set(document) - set(ADVERTISED)) == []
    assert sorted(advertised(document) - set(CASES), key=json.dumps) == []


@pytest.mark.parametrize(("key", "value"), CASES, ids=[case_id(*case) for case in CASES])
def test_advertised_value_works(
    conf: Conformance, browser: httpx.Client, key: str, value: Any
) -> None:
    assert (key, value) in advertised(conf.meta), "discovery no longer advertises it"
    ADVERTISED[key].exercise(conf, browser, conf.meta[key] if value == TEXT else value)


def test_every_claim_the_user_gets_is_advertised(conf: Conformance, browser: httpx.Client) -> None:
    assert sorted(set(emitted_claims(conf, browser)) - set(conf.meta["claims_supported"])) == []
