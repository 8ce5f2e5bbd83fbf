"""Konnect drop-in details that relying parties and unit files depend on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from konnect.config import ConfigError, load_settings
from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_bad_input import good_params
from tests.flows.test_guest_flow import GUEST_ID, guest_claims, sign
from tests.flows.test_request_objects import unsigned
from tests.identity.test_cookie_backend import COOKIE, CookieApp, query
from tests.identity.test_cookie_backend import cookie_app as cookie_app

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


@pytest.fixture
def ec_only(server_factory: Callable[..., RunningServer], key_dir: Path) -> RunningServer:
    return server_factory(
        signing_private_keys=(key_dir / "ec-key.pem",),
        signing_method="ES256",
        allow_dynamic_client_registration=True,
    )


def _register(server: RunningServer, **metadata: str) -> httpx.Response:
    body = {"redirect_uris": ["https://rp.example.org/cb"], "client_name": "RP", **metadata}
    return httpx.post(server.url + "/konnect/v1/register", json=body)


def test_without_an_rsa_key_a_registration_relying_on_the_rs256_default_is_refused(
    ec_only: RunningServer,
) -> None:
    refused = _register(ec_only)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    assert "RS256" in refused.json()["error_description"]
    registered = _register(ec_only, id_token_signed_response_alg="ES256")
    assert registered.status_code == 201, registered.text
    assert registered.json()["id_token_signed_response_alg"] == "ES256"


def _authorize(server: RunningServer, **params: str) -> dict[str, list[str]]:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get("/signin/v1/identifier/_/authorize?" + urlencode(params))
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


def test_an_unsigned_request_object_works_for_a_client_that_registered_no_alg(
    server: RunningServer,
) -> None:
    token = unsigned({"client_id": "trusted-app", "state": "from-object"})
    answer = _authorize(
        server, **good_params(client_id="trusted-app", prompt="none", request=token)
    )
    assert "code" in answer, answer
    assert answer["state"] == ["from-object"]


def test_an_unsigned_request_object_is_refused_when_the_client_registered_an_alg(
    server: RunningServer,
) -> None:
    token = unsigned({"client_id": "signing-app", "state": "from-object"})
    answer = _authorize(
        server, **good_params(client_id="signing-app", prompt="none", request=token)
    )
    assert answer["error"] == ["invalid_request_object"]
    assert answer["state"] == ["st"]


def test_an_unsigned_request_object_never_signs_a_guest_in(
    server_factory: Callable[..., RunningServer], tmp_path: Path, client_key: ECKey
) -> None:
    # A client that may sign guests in but registered no request object alg.
    public = client_key.as_dict(private=False)
    registry = tmp_path / "guests.yaml"
    registry.write_text(
        "clients:\n"
        "  - id: meet\n"
        "    trusted: yes\n"
        "    application_type: native\n"
        "    redirect_uris: [http://127.0.0.1:9999/cb]\n"
        "    trusted_scopes: [konnect/guestok]\n"
        f"    jwks: {{keys: [{public}]}}\n"
    )
    server = server_factory(identifier_registration_conf=registry, allow_client_guests=True)
    claims = guest_claims("meet")
    params = good_params(client_id="meet", prompt="none", scope=claims["scope"], nonce="n")
    params["response_type"] = "id_token token"

    def guest_answer(request_object: str) -> dict[str, list[str]]:
        with browser(server.url) as client:
            query = urlencode({**params, "request": request_object})
            response = client.get("/signin/v1/identifier/_/authorize?" + query)
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["location"]).fragment)

    assert "access_token" in guest_answer(sign(client_key, claims))
    refused = guest_answer(unsigned(claims))
    assert refused["error"] == ["login_required"]
    assert GUEST_ID not in str(refused)


def test_konnects_endpoint_uri_flags_are_read_for_their_path() -> None:
    settings = load_settings(
        [
            "--iss=https://idp.example.com",
            "--authorization-endpoint-uri=https://idp.example.com/konnect/v1/authorize",
            "--endsession-endpoint-uri=/konnect/v1/endsession",
            "dummy",
        ],
        {},
    )
    assert settings.authorization_endpoint_uri == "/konnect/v1/authorize"
    assert settings.endsession_endpoint_uri == "/konnect/v1/endsession"
    for bad in ("konnect/v1/authorize", "//elsewhere.example.com/a", "ftp://x.example/a"):
        with pytest.raises(ConfigError, match="--authorization-endpoint-uri"):
            load_settings(
                ["--iss=https://idp.example.com", f"--authorization-endpoint-uri={bad}"], {}
            )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_cookie_managers_authorize_path_of_konnect_works(
    server_factory: Callable[..., RunningServer], cookie_app: CookieApp, method: str
) -> None:
    server = server_factory(
        identity_manager="cookie", identity_manager_args=(cookie_app.url + "/whoami", COOKIE)
    )
    params = good_params(prompt="none")
    with httpx.Client(base_url=server.url, cookies={COOKIE: "alice-key"}) as client:
        if method == "GET":
            moved = client.get("/konnect/v1/authorize?" + urlencode(params))
        else:
            moved = client.post("/konnect/v1/authorize", data=params)
        assert moved.status_code == 307, moved.text
        location = moved.headers["location"]
        assert location.startswith(server.url + "/signin/v1/identifier/_/authorize")
        response = client.request(method, location, data=params if method == "POST" else None)
    assert "code" in query(response)


def test_the_endpoint_uris_of_a_konnect_unit_file_lead_to_konnects_endpoints(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(
        identity_manager="dummy",
        authorization_endpoint_uri="/auth",
        endsession_endpoint_uri="/logout",
    )
    with browser(server.url) as client:
        authorized = client.get("/auth?" + urlencode(good_params()))
        ended = client.get("/logout?state=s")
    assert authorized.status_code == ended.status_code == 307
    assert authorized.headers["location"] == (
        server.url + "/signin/v1/identifier/_/authorize?" + urlencode(good_params())
    )
    assert ended.headers["location"] == server.url + "/signin/v1/identifier/_/endsession?state=s"
    discovery = httpx.get(server.url + DISCOVERY).json()
    assert discovery["authorization_endpoint"] == server.url + "/signin/v1/identifier/_/authorize"
