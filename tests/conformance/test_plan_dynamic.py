"""Dynamic OP (oidcc-dynamic-certification-test-plan): discovery, dynamic registration, and
flows of dynamically registered clients authenticating with private_key_jwt, against a konnect
started with dynamic client registration allowed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from konnect.http.app import create_app
from tests.conformance import modules
from tests.conformance.discovery import check_jwks, oidcc_discovery_endpoint_verification
from tests.conformance.dynamic import (
    DynamicClient,
    client_flow,
    new_key,
    public_jwks,
    register,
    registered,
    registered_with_keys,
    sign,
)
from tests.conformance.flow import finish_flow, run_flow
from tests.conformance.harness import (
    CODE,
    CONSENT_REF,
    REDIRECT_URI,
    Conformance,
    OffsetClock,
    single,
    start_conformance,
    write_config,
)
from tests.conformance.receiver import Receiver
from tests.conftest import RunningServer, api_headers

pytestmark = pytest.mark.conformance("oidcc-dynamic-certification-test-plan")

WEB_REDIRECT_URI = "https://rp.example.com/cb"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Conformance, Receiver]]:
    receiver = Receiver()
    folder = tmp_path_factory.mktemp("conformance-dynamic")
    conformance, server = start_conformance(folder, allow_dynamic_client_registration=True)
    yield conformance, receiver
    server.stop()
    receiver.stop()


@pytest.fixture(scope="module")
def conf(running: tuple[Conformance, Receiver]) -> Conformance:
    return running[0]


@pytest.fixture
def receiver(running: tuple[Conformance, Receiver]) -> Receiver:
    return running[1]


def expect_error_page(conf: Conformance, browser: httpx.Client, params: dict[str, str]) -> None:
    """The OP shows an error itself: it never redirects to an unregistered URI."""
    conf.sign_in(browser)
    response = conf.open_authorize(browser, params)
    assert response.status_code == 400, response.headers.get("location")
    assert "location" not in response.headers


# -- signing algorithms and redirect URIs ---------------------------------------------------


def test_oidcc_idtoken_rs256(conf: Conformance, browser: httpx.Client) -> None:
    client = registered_with_keys(conf, id_token_signed_response_alg="RS256")
    flow = client_flow(conf, browser, client, expect_login=True)
    assert flow.id_token
    header, _ = conf.decode_id_token(flow.id_token)
    assert header["alg"] == "RS256"


def test_oidcc_userinfo_rs256(conf: Conformance, browser: httpx.Client) -> None:
    client = registered_with_keys(conf, userinfo_signed_response_alg="RS256")
    flow = client_flow(conf, browser, client)
    assert flow.access_token
    response = conf.userinfo(flow.access_token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/jwt"
    header, claims = conf.verify_jwt(response.text)
    assert header["alg"] == "RS256"
    assert claims["sub"] == flow.claims["sub"]
    if "iss" in claims:  # OIDC Core 5.3.2: SHOULD be present, then these values
        assert claims["iss"] == conf.meta["issuer"]
    if "aud" in claims:
        assert client.id in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])


def test_oidcc_ensure_redirect_uri_in_authorization_request(
    conf: Conformance, browser: httpx.Client
) -> None:
    client = registered_with_keys(conf)
    params = conf.request(CODE, client_id=client.id, redirect_uri="-")
    conf.sign_in(browser)
    response = conf.open_authorize(browser, params)
    if response.status_code == 400:  # the error page the module expects
        assert "location" not in response.headers
        return
    modules.expect_error(conf, CODE, conf.delivered(response), "invalid_request")


def web_client(conf: Conformance, redirect_uri: str) -> DynamicClient:
    """A web client, as the suite registers it: an https redirect URI, compared exactly."""
    return registered_with_keys(conf, application_type="web", redirect_uris=[redirect_uri])


def code_at(conf: Conformance, browser: httpx.Client, params: dict[str, str]) -> dict[str, str]:
    """Sign in, consent, and read what konnect sends to a redirect URI outside the harness."""
    conf.sign_in(browser)
    response = conf.open_authorize(browser, {**params, "prompt": "none"})
    assert conf.asks_consent(response), response.headers.get("location")
    conf.consent(browser, params)
    response = conf.open_authorize(browser, {**params, "prompt": "none", "konnect": CONSENT_REF})
    location = response.headers["location"]
    assert location.startswith(params["redirect_uri"] + "&"), location
    return single(parse_qs(urlsplit(location).query))


def test_oidcc_redirect_uri_query_ok(conf: Conformance, browser: httpx.Client) -> None:
    with_query = WEB_REDIRECT_URI + "?foo=bar"
    client = web_client(conf, with_query)
    params = conf.request(CODE, client_id=client.id, redirect_uri=with_query)
    delivered = code_at(conf, browser, params)
    assert delivered["foo"] == "bar"  # the registered query is kept
    assert delivered["state"] == params["state"]
    answer = conf.token(
        delivered["code"],
        client=client.credentials,
        assertion=client.assertion(conf),
        redirect_uri=with_query,
    )
    assert answer.status_code == 200, answer.text
    conf.validate_id_token(answer.json()["id_token"], client_id=client.id)


def test_oidcc_redirect_uri_query_mismatch(conf: Conformance, browser: httpx.Client) -> None:
    client = web_client(conf, WEB_REDIRECT_URI + "?foo=bar")
    changed = WEB_REDIRECT_URI + "?foo=zoo"
    expect_error_page(conf, browser, conf.request(CODE, client_id=client.id, redirect_uri=changed))


def test_oidcc_redirect_uri_query_added(conf: Conformance, browser: httpx.Client) -> None:
    client = web_client(conf, WEB_REDIRECT_URI)
    added = WEB_REDIRECT_URI + "?foo=bar"
    expect_error_page(conf, browser, conf.request(CODE, client_id=client.id, redirect_uri=added))


def test_oidcc_redirect_uri_regfrag(conf: Conformance) -> None:
    response = register(conf, redirect_uris=[REDIRECT_URI + "#foo"])
    assert response.status_code == 400
    assert response.json()["error"] in (
        "invalid_request",
        "invalid_configuration_parameter",
        "invalid_redirect_uri",
    )


# -- discovery and registration -------------------------------------------------------------


def test_oidcc_discovery_endpoint_verification(conf: Conformance) -> None:
    oidcc_discovery_endpoint_verification(conf.url, dynamic=True)


def test_oidcc_server(conf: Conformance, browser: httpx.Client) -> None:
    client = registered_with_keys(conf)
    assert client.registration["token_endpoint_auth_method"] == "private_key_jwt"
    assert client.registration["jwks"] == public_jwks(client.key)
    flow = client_flow(conf, browser, client, expect_login=True)
    assert flow.claims["sub"]


def hello_client(conf: Conformance, browser: httpx.Client, client: DynamicClient) -> Any:
    """What the sign-in/consent page shows about the client, as its API tells the web app."""
    conf.sign_in(browser)
    hello = {
        "state": "h",
        "flow": "oidc",
        "scope": "openid",
        "client_id": client.id,
        "redirect_uri": REDIRECT_URI,
    }
    said = browser.post("/signin/v1/identifier/_/hello", json=hello, headers=api_headers(conf.url))
    assert said.status_code == 200, said.text
    return said.json()["client"]


def test_oidcc_registration_logo_uri(conf: Conformance, browser: httpx.Client) -> None:
    logo = "https://rp.example.com/logo.png"
    client = registered_with_keys(conf, logo_uri=logo)
    assert client.registration["logo_uri"] == logo
    assert hello_client(conf, browser, client)["logo_uri"] == logo


def test_oidcc_registration_policy_uri(conf: Conformance, browser: httpx.Client) -> None:
    policy = "https://rp.example.com/policy.html"
    client = registered_with_keys(conf, policy_uri=policy)
    assert hello_client(conf, browser, client)["policy_uri"] == policy


def test_oidcc_registration_tos_uri(conf: Conformance, browser: httpx.Client) -> None:
    terms = "https://rp.example.com/tos.html"
    client = registered_with_keys(conf, tos_uri=terms)
    assert hello_client(conf, browser, client)["tos_uri"] == terms


def registered_with_jwks_uri(
    conf: Conformance, receiver: Receiver, path: str, **metadata: Any
) -> DynamicClient:
    key = new_key()
    receiver.documents[path] = public_jwks(key)
    return registered(
        conf,
        key,
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=receiver.url + path,
        **metadata,
    )


def test_oidcc_registration_jwks_uri(
    conf: Conformance, browser: httpx.Client, receiver: Receiver
) -> None:
    client = registered_with_jwks_uri(conf, receiver, "/registration-jwks.json")
    assert client.registration["jwks_uri"] == receiver.url + "/registration-jwks.json"
    flow = client_flow(conf, browser, client, expect_login=True)
    assert flow.access_token
    assert receiver.at("/registration-jwks.json")  # konnect fetched the client's keys there


# -- key rotation ---------------------------------------------------------------------------


def write_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


def served_keys(tmp_path: Path, *key_files: Path) -> tuple[list[str], str]:
    """Start konnect signing with the first of `key_files`: the kids its JWKS publishes, and
    the kid of an ID token it signs."""
    settings = replace(write_config(tmp_path), signing_private_keys=key_files)
    server = RunningServer(create_app(settings), int(settings.listen.rsplit(":", 1)[1]))
    server.start()
    try:
        conf = Conformance(server, OffsetClock())
        check_jwks(conf.meta)
        kids = [key["kid"] for key in conf.fetch_jwks()["keys"]]
        assert len(set(kids)) == len(kids)  # RFC 7517 §4.5: distinct kids
        with conf.browser() as browser:
            flow = run_flow(conf, browser, CODE)
        assert flow.id_token
        header, _ = conf.decode_id_token(flow.id_token)
        return kids, str(header["kid"])
    finally:
        server.stop()


def test_oidcc_server_rotate_keys(tmp_path: Path) -> None:
    """The operator rotates: a new key goes first in signing_private_keys, the old one stays
    listed so tokens it signed still verify."""
    old = write_key(tmp_path / "old.pem")
    before, signed_before = served_keys(tmp_path, old)
    new = write_key(tmp_path / "new.pem")
    after, signed_after = served_keys(tmp_path, new, old)
    assert set(after) - set(before)  # VerifyNewJwksHasNewSigningKey
    assert set(before) <= set(after)  # VerifyNewJwksStillHasOldSigningKey
    assert signed_before in before
    assert signed_after not in before


def refresh(conf: Conformance, client: DynamicClient, refresh_token: str) -> httpx.Response:
    return httpx.post(
        conf.meta["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client.id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client.assertion_for(conf),
        },
    )


OFFLINE_SCOPE = "openid offline_access"
REFRESH_GRANTS = ["authorization_code", "refresh_token"]


def test_oidcc_refresh_token_rp_key_rotation(
    conf: Conformance, browser: httpx.Client, receiver: Receiver
) -> None:
    path = "/rotating-jwks.json"
    client = registered_with_jwks_uri(conf, receiver, path, grant_types=REFRESH_GRANTS)
    flow = client_flow(
        conf, browser, client, expect_login=True, scope=OFFLINE_SCOPE, prompt="consent"
    )
    assert flow.refresh_token
    client.key = new_key()  # the RP rotates: a new key with a new kid at the same jwks_uri
    receiver.documents[path] = public_jwks(client.key)
    conf.clock.advance(61)  # the module waits 60 s, so jwks_uri rate limits do not apply
    refreshed = refresh(conf, client, flow.refresh_token)
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    if "id_token" in body:
        claims = conf.validate_id_token(body["id_token"], client_id=client.id, nonce=None)
        assert claims["sub"] == flow.claims["sub"]
    assert conf.userinfo(body["access_token"]).status_code == 200


def test_oidcc_refresh_token(conf: Conformance, browser: httpx.Client) -> None:
    client = registered_with_keys(conf, grant_types=REFRESH_GRANTS)
    other = registered_with_keys(conf, grant_types=REFRESH_GRANTS)
    flow = client_flow(conf, browser, client, scope=OFFLINE_SCOPE, prompt="consent")
    assert flow.refresh_token
    stolen = refresh(conf, other, flow.refresh_token)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    refreshed = refresh(conf, client, flow.refresh_token)
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["access_token"] != flow.access_token
    if "id_token" in body:
        claims = conf.validate_id_token(body["id_token"], client_id=client.id, nonce=None)
        for name in ("iss", "sub", "aud"):
            assert claims[name] == flow.claims[name]
    assert conf.userinfo(body["access_token"]).status_code == 200


def test_oidcc_ensure_client_assertion_with_iss_aud_succeeds(
    conf: Conformance, browser: httpx.Client
) -> None:
    client = registered_with_keys(conf)
    params = conf.request(CODE, client_id=client.id)
    response = conf.authorize(browser, params)
    issuer = conf.meta["issuer"]
    flow = finish_flow(
        conf,
        CODE,
        params,
        response,
        client=client.credentials,
        assertion=lambda: client.assertion_for(conf, audience=issuer),
    )
    assert flow.access_token


# -- request objects ------------------------------------------------------------------------


def request_uri_flow(
    conf: Conformance, browser: httpx.Client, receiver: Receiver, client: DynamicClient, alg: str
) -> None:
    """The request travels by reference: a request object at a URL of the relying party."""
    params = conf.request(CODE, client_id=client.id)
    claims = {**params, "iss": client.id, "aud": conf.meta["issuer"]}
    if alg == "none":
        request_object = modules.unsigned_request_object(claims)
    else:
        request_object = sign(claims, client.key, alg)
    path = f"/request-{alg}.jwt"
    receiver.documents[path] = request_object
    outer = {
        "client_id": client.id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "request_uri": receiver.url + path,
        # Repeated outside the object, as relying parties do, for the consent screen's round trip.
        "state": params["state"],
        "nonce": params["nonce"],
    }
    response = conf.authorize(browser, outer)
    finish_flow(
        conf, CODE, params, response, client=client.credentials, assertion=client.assertion(conf)
    )
    assert receiver.at(path)


def client_keeping_request_objects(
    conf: Conformance, receiver: Receiver, alg: str
) -> DynamicClient:
    """konnect asks for request_uri registration: the client registers where it keeps them."""
    request_uri = receiver.url + f"/request-{alg}.jwt"
    return registered_with_keys(
        conf, request_object_signing_alg=alg, request_uris=[request_uri + "#v1"]
    )


def test_oidcc_request_uri_unsigned(
    conf: Conformance, browser: httpx.Client, receiver: Receiver
) -> None:
    assert conf.meta["require_request_uri_registration"] is True
    client = client_keeping_request_objects(conf, receiver, "none")
    request_uri_flow(conf, browser, receiver, client, "none")


def test_oidcc_request_uri_signed_rs256(
    conf: Conformance, browser: httpx.Client, receiver: Receiver
) -> None:
    client = client_keeping_request_objects(conf, receiver, "RS256")
    request_uri_flow(conf, browser, receiver, client, "RS256")


def test_oidcc_ensure_request_object_with_redirect_uri(
    conf: Conformance, browser: httpx.Client
) -> None:
    client = registered_with_keys(conf, request_object_signing_alg="none")
    params = conf.request(CODE, client_id=client.id)
    request = modules.unsigned_request_object(
        {**params, "iss": client.id, "aud": conf.meta["issuer"]}
    )
    outer = {"client_id": client.id, "response_type": "code", "scope": "openid"}
    response = conf.authorize(browser, {**outer, "request": request})
    finish_flow(
        conf, CODE, params, response, client=client.credentials, assertion=client.assertion(conf)
    )
