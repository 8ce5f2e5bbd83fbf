"""Dynamic client registration (RFC 7591, OIDC Dynamic Registration) and RFC 7592 reads."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from konnect.http.app import Overrides
from tests.conftest import Clock, RunningServer, api_headers, browser, free_port, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.flows.test_consent_and_prompts import claims_of, query_of

REGISTER = "/konnect/v1/register"
TOKEN = "/konnect/v1/token"
#: Where a confidential client authenticates without running a grant.
INTROSPECT = "/konnect/v1/introspect"
AUTHORIZE = "/signin/v1/identifier/_/authorize"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NATIVE_REDIRECT = "http://127.0.0.1:9999/cb"


@pytest.fixture
def server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory(allow_dynamic_client_registration=True)


class SectorHost:
    """A relying party publishing its sector identifier document on a loopback port."""

    def __init__(self) -> None:
        self.listed: list[str] = ["https://a.example.org/cb", "https://b.example.org/cb"]

        async def document(request: Request) -> JSONResponse:
            return JSONResponse(self.listed)

        self.server = RunningServer(Starlette(routes=[Route("/sector", document)]), free_port())
        self.server.start()
        self.url = self.server.url + "/sector"


@pytest.fixture
def sector_host() -> Iterator[SectorHost]:
    host = SectorHost()
    yield host
    host.server.stop()


def registration(server: RunningServer, **metadata: Any) -> httpx.Response:
    body = {"redirect_uris": ["https://a.example.org/cb"], "client_name": "Dyn App", **metadata}
    body = {name: value for name, value in body.items() if value is not None}
    return httpx.post(server.url + REGISTER, json=body)


def registered(server: RunningServer, **metadata: Any) -> dict[str, Any]:
    response = registration(server, **metadata)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


def assert_error(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_registration_is_off_unless_enabled(server_factory: Callable[..., RunningServer]) -> None:
    disabled = server_factory()
    document = httpx.get(disabled.url + "/.well-known/openid-configuration").json()
    assert "registration_endpoint" not in document
    assert httpx.post(disabled.url + REGISTER, json={}).status_code in (404, 405)
    forged = "dyn." + "A" * 80
    response = httpx.post(
        disabled.url + TOKEN, data={"grant_type": "client_credentials"}, auth=(forged, "x")
    )
    assert response.status_code == 401


def test_registration_returns_credentials_and_the_metadata(server: RunningServer) -> None:
    document = httpx.get(server.url + "/.well-known/openid-configuration").json()
    assert document["registration_endpoint"] == server.url + REGISTER
    body = registered(server, contacts=["ops@example.org"], logo_uri="https://a.example.org/l.png")
    assert body["client_id"].startswith("dyn.")
    assert len(body["client_secret"]) >= 32
    assert body["client_secret_expires_at"] == 0
    assert abs(body["client_id_issued_at"] - time.time()) < 60
    assert body["redirect_uris"] == ["https://a.example.org/cb"]
    assert body["response_types"] == ["code"]
    assert body["grant_types"] == ["authorization_code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["application_type"] == "web"
    assert body["client_name"] == "Dyn App"
    assert body["contacts"] == ["ops@example.org"]
    assert body["id_token_signed_response_alg"] == "RS256"
    assert body["registration_client_uri"] == server.url + REGISTER + "/" + body["client_id"]

    auth = {"Authorization": "Bearer " + body["registration_access_token"]}
    read = httpx.get(body["registration_client_uri"], headers=auth)
    assert read.status_code == 200
    assert read.json() == body
    wrong = httpx.get(body["registration_client_uri"], headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_token"
    assert httpx.get(body["registration_client_uri"]).status_code == 401
    other = registered(server)
    crossed = httpx.get(
        other["registration_client_uri"], headers=auth
    )  # one client's token does not read another
    assert crossed.status_code == 401
    for method in ("PUT", "DELETE"):
        refused = httpx.request(method, body["registration_client_uri"], headers=auth, json={})
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET"


def test_a_dynamic_client_signs_in_with_consent_and_redeems_its_code(
    server: RunningServer,
) -> None:
    client = registered(server, application_type="native", redirect_uris=[NATIVE_REDIRECT])
    client_id = client["client_id"]
    params = good_params(client_id=client_id, scope="openid profile")
    with browser(server.url) as web:
        assert sign_in(web, server.url).status_code == 200
        first = web.get(AUTHORIZE + "?" + urlencode(params))
        assert "flow=consent" in first.headers["location"]  # never trusted
        consent = {
            "state": "c1",
            "allow": True,
            "scope": "openid profile",
            "client_id": client_id,
            "redirect_uri": NATIVE_REDIRECT,
            "ref": "st",
            "flow_nonce": "nc",
        }
        said = web.post(
            "/signin/v1/identifier/_/consent", json=consent, headers=api_headers(server.url)
        )
        assert said.status_code == 200, said.text
        done = web.get(AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"}))
    code = query_of(done.headers["location"])["code"][0]
    tokens = httpx.post(
        server.url + TOKEN, data=code_request(code), auth=(client_id, client["client_secret"])
    )
    assert tokens.status_code == 200, tokens.text
    assert claims_of(tokens.json()["id_token"])["aud"] == client_id
    wrong = httpx.post(server.url + TOKEN, data=code_request(code), auth=(client_id, "guess"))
    assert wrong.status_code == 401


def test_unregistered_response_types_are_refused(server: RunningServer) -> None:
    client = registered(server, application_type="native", redirect_uris=[NATIVE_REDIRECT])
    params = good_params(client_id=client["client_id"], response_type="code id_token")
    with browser(server.url) as web:
        assert sign_in(web, server.url).status_code == 200
        response = web.get(AUTHORIZE + "?" + urlencode(params))
    # Not approved by the user yet: shown, not sent to the client's redirect URI.
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "unauthorized_client" in response.text


def test_tampered_and_expired_client_ids_are_unknown(
    server_factory: Callable[..., RunningServer],
) -> None:
    clock = Clock(time.time())
    server = server_factory(
        Overrides(clock=clock),
        allow_dynamic_client_registration=True,
        dynamic_client_secret_expiration=60,
    )
    client = registered(server)
    assert client["client_secret_expires_at"] == client["client_id_issued_at"] + 60
    auth = (client["client_id"], client["client_secret"])
    data = {"token": "unknown"}
    assert httpx.post(server.url + INTROSPECT, data=data, auth=auth).status_code == 200
    tampered = (client["client_id"][:-2] + "AA", client["client_secret"])
    assert httpx.post(server.url + INTROSPECT, data=data, auth=tampered).status_code == 401
    clock.advance(61)
    assert httpx.post(server.url + INTROSPECT, data=data, auth=auth).status_code == 401


def _assertion(server: RunningServer, client_id: str, key: OctKey | ECKey, alg: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": server.url + TOKEN,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": alg}, claims, key, algorithms=[alg])


def test_dynamic_clients_authenticate_with_jwt_assertions(server: RunningServer) -> None:
    key = ECKey.generate_key("P-256", private=True)
    keyed = registered(
        server,
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="ES256",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    assert "client_secret" not in keyed
    signed = _assertion(server, keyed["client_id"], key, "ES256")
    data = {
        "token": "unknown",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    assert httpx.post(server.url + INTROSPECT, data=data).status_code == 200

    secret_client = registered(
        server,
        token_endpoint_auth_method="client_secret_jwt",
        token_endpoint_auth_signing_alg="HS512",
    )
    secret = OctKey.import_key(secret_client["client_secret"].encode())
    signed = _assertion(server, secret_client["client_id"], secret, "HS512")
    response = httpx.post(server.url + INTROSPECT, data={**data, "client_assertion": signed})
    assert response.status_code == 200, response.text


def test_public_clients_get_no_secret(server: RunningServer) -> None:
    body = registered(
        server,
        application_type="native",
        redirect_uris=["com.example.app://cb", NATIVE_REDIRECT],
        token_endpoint_auth_method="none",
    )
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"redirect_uris": None}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://a.example.org/cb"}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example.org/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://a.example.org/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://localhost/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["/relative"]}, "invalid_redirect_uri"),
        (
            {"application_type": "native", "redirect_uris": ["http://rp.example.org/cb"]},
            "invalid_redirect_uri",
        ),
        ({"response_types": ["code id_token"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"application_type": "desktop"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        (
            {
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
            },
            "invalid_client_metadata",
        ),
        ({"id_token_signed_response_alg": "none"}, "invalid_client_metadata"),
        ({"userinfo_signed_response_alg": "HS256"}, "invalid_client_metadata"),
        ({"request_object_signing_alg": "ES256"}, "invalid_client_metadata"),
        ({"id_token_encrypted_response_alg": "RSA-OAEP"}, "invalid_client_metadata"),
        ({"subject_type": "pairwise"}, "invalid_client_metadata"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "invalid_client_metadata"),
        ({"jwks": {"keys": [{"kty": "EC", "crv": "P-256"}]}}, "invalid_client_metadata"),
        ({"jwks": "nope"}, "invalid_client_metadata"),
        ({"jwks_uri": "http://rp.example.org/jwks"}, "invalid_client_metadata"),
        ({"client_name": 7}, "invalid_client_metadata"),
        ({"contacts": "ops@example.org"}, "invalid_client_metadata"),
        ({"backchannel_logout_uri": "mailto:x@example.org"}, "invalid_client_metadata"),
        ({"frontchannel_logout_session_required": "yes"}, "invalid_client_metadata"),
        ({"post_logout_redirect_uris": ["https://a.example.org/#x"]}, "invalid_client_metadata"),
        ({"sector_identifier_uri": "http://rp.example.org/sector"}, "invalid_client_metadata"),
    ],
)
def test_bad_metadata_gets_the_spec_error(
    server: RunningServer, metadata: dict[str, Any], error: str
) -> None:
    assert_error(registration(server, **metadata), error)


def test_jwks_and_jwks_uri_exclude_each_other_and_private_keys_are_refused(
    server: RunningServer,
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    both = registration(
        server,
        jwks={"keys": [key.as_dict(private=False)]},
        jwks_uri="https://a.example.org/jwks",
    )
    assert_error(both, "invalid_client_metadata")
    private = registration(server, jwks={"keys": [key.as_dict(private=True)]})
    assert_error(private, "invalid_client_metadata")


def test_malformed_and_oversized_bodies(server: RunningServer) -> None:
    url = server.url + REGISTER
    not_json = httpx.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert_error(not_json, "invalid_client_metadata")
    array = httpx.post(url, json=["https://a.example.org/cb"])
    assert_error(array, "invalid_client_metadata")
    form = httpx.post(url, data={"redirect_uris": "https://a.example.org/cb"})
    assert_error(form, "invalid_request")
    huge = httpx.post(
        url,
        content=b'{"client_name": "' + b"x" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 400
    assert huge.json()["error"] == "invalid_request"
    many = registration(server, redirect_uris=[f"https://a.example.org/{n}" for n in range(200)])
    assert_error(many, "invalid_redirect_uri")
    noise = ["".join(uuid.uuid4().hex for _ in range(10)) for _ in range(30)]
    big = registration(server, redirect_uris=[f"https://a.example.org/{path}" for path in noise])
    assert_error(big, "invalid_client_metadata")  # would not fit into a client id
    assert httpx.get(url).status_code == 405


def test_sector_identifier_uri_must_list_every_redirect_uri(
    server: RunningServer, sector_host: SectorHost
) -> None:
    ok = registration(server, sector_identifier_uri=sector_host.url)
    assert ok.status_code == 201, ok.text
    missing = registration(
        server,
        redirect_uris=["https://c.example.org/cb"],
        sector_identifier_uri=sector_host.url,
    )
    assert_error(missing, "invalid_client_metadata")
    sector_host.listed = {"not": "a list"}  # type: ignore[assignment]
    assert_error(
        registration(server, sector_identifier_uri=sector_host.url), "invalid_client_metadata"
    )
    sector_host.server.stop()
    gone = registration(server, sector_identifier_uri=sector_host.url)
    assert_error(gone, "invalid_client_metadata")


def test_behind_https_konnect_only_calls_https_urls(
    server_factory: Callable[..., RunningServer],
) -> None:
    port = free_port()
    server = server_factory(
        port=port, issuer=f"https://127.0.0.1:{port}", allow_dynamic_client_registration=True
    )
    for name in ("jwks_uri", "sector_identifier_uri", "backchannel_logout_uri"):
        response = registration(server, **{name: "http://127.0.0.1:1/x"})
        assert_error(response, "invalid_client_metadata")
    fine = registration(server, frontchannel_logout_uri="https://a.example.org/fc")
    assert fine.status_code == 201
    assert fine.json()["registration_client_uri"].startswith(f"https://127.0.0.1:{port}/")


def test_a_provider_without_a_registry_file_serves_dynamic_clients(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(
        identifier_registration_conf=None, allow_dynamic_client_registration=True
    )
    client = registered(server)
    response = httpx.post(
        server.url + INTROSPECT,
        data={"token": "unknown"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
