"""Attacks on where konnect sends browsers: unregistered clients on the issuer's host, redirect
URIs into konnect itself, chained responses carrying tokens in an inherited fragment, errors
and sign-outs sent to clients nobody approved, script URIs, and hints that are not ID tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from konnect.config.errors import ConfigError
from tests.conftest import RunningServer, api_headers, browser, sign_in
from tests.flows.test_bad_input import REDIRECT, good_params
from tests.flows.test_end_session import ENDSESSION, id_token_for, signed_in

AUTHORIZE = "/signin/v1/identifier/_/authorize"
REGISTER = "/konnect/v1/register"
ATTACKER = "https://attacker.example.net/steal"
HELLO = "/signin/v1/identifier/_/hello"


@pytest.fixture
def server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory(allow_dynamic_client_registration=True)


@pytest.fixture
def opted_in(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """A konnect that accepts Konnect's unregistered issuer-host clients."""
    return server_factory(allow_dynamic_client_registration=True, allow_issuer_host_clients=True)


def register(server: RunningServer, **metadata: Any) -> httpx.Response:
    body = {"client_name": "Nextcloud", "redirect_uris": [ATTACKER], **metadata}
    return httpx.post(server.url + REGISTER, json=body)


def attacker_client(server: RunningServer, **metadata: Any) -> str:
    response = register(
        server,
        response_types=["code", "id_token token"],
        grant_types=["authorization_code", "implicit"],
        **metadata,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def implicit_params(client_id: str, redirect_uri: str, **changes: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "id_token token",
        "scope": "openid profile",
        "nonce": "n",
        "state": "s",
        "prompt": "none",
        **changes,
    }


def assert_page(response: httpx.Response) -> None:
    """An error page of konnect's own: nothing is sent anywhere."""
    assert response.status_code in (400, 403), response.headers.get("location")
    assert "location" not in response.headers


# -- unregistered clients on the issuer's host ----------------------------------------------


def test_unregistered_issuer_host_client_gets_no_tokens(server: RunningServer) -> None:
    params = implicit_params("anything", server.url + "/apps/mail/")
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        response = victim.get(AUTHORIZE + "?" + urlencode(params))
    assert_page(response)
    assert "unknown client_id" in response.text


def test_enabled_issuer_host_client_is_not_trusted(opted_in: RunningServer) -> None:
    params = implicit_params("anything", opted_in.url + "/apps/mail/")
    with browser(opted_in.url) as victim:
        assert sign_in(victim, opted_in.url).status_code == 200
        silent = victim.get(AUTHORIZE + "?" + urlencode(params))
        assert_page(silent)  # no consent yet, and the user never approved it
        assert "consent_required" in silent.text
        asked = victim.get(AUTHORIZE + "?" + urlencode({**params, "prompt": ""}))
    assert asked.status_code == 302
    assert "flow=consent" in asked.headers["location"]


def chained_link(server: RunningServer) -> str:
    """The report's link: an issuer-host "client" whose redirect URI is konnect's own
    authorize endpoint, there failing for a dynamic client, whose error redirect would carry
    the first response's fragment (the victim's tokens) to the attacker."""
    dynamic = attacker_client(server)
    second = {"client_id": dynamic, "redirect_uri": ATTACKER, "response_type": "code"}
    inner = server.url + AUTHORIZE + "?" + urlencode(second)  # no openid scope: an error
    return AUTHORIZE + "?" + urlencode(implicit_params("portal", inner))


def test_chained_token_theft_is_refused(server: RunningServer) -> None:
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        response = victim.get(chained_link(server))
    assert_page(response)


def test_chained_token_theft_is_refused_with_issuer_host_clients(
    opted_in: RunningServer,
) -> None:
    with browser(opted_in.url) as victim:
        assert sign_in(victim, opted_in.url).status_code == 200
        response = victim.get(chained_link(opted_in))
    assert_page(response)


def test_redirect_uri_into_konnect_is_refused(opted_in: RunningServer) -> None:
    for path in (AUTHORIZE, "/signin/v1/identifier/_/../_/authorize", "/%73ignin/v1/x"):
        params = implicit_params("portal", opted_in.url + path)
        with browser(opted_in.url) as victim:
            assert sign_in(victim, opted_in.url).status_code == 200
            response = victim.get(AUTHORIZE + "?" + urlencode(params))
        assert_page(response)
        assert "must not lead back into this provider" in response.text


def test_dynamic_client_cannot_register_konnect_as_redirect(server: RunningServer) -> None:
    response = register(server, application_type="native", redirect_uris=[server.url + AUTHORIZE])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


def test_query_responses_carry_their_own_fragment(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        success = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
        failure = client.get(AUTHORIZE + "?" + urlencode(good_params(scope="profile")))
    for response in (success, failure):
        location = response.headers["location"]
        assert location.startswith(REDIRECT + "?"), location
        assert location.endswith("#"), location
    assert "error=invalid_scope" in failure.headers["location"]


def test_registry_response_types_limit_front_channel_tokens(
    server_factory: Callable[..., RunningServer], config_dir: Path
) -> None:
    registry = config_dir / "registry.yaml"
    text = registry.read_text().replace(
        "  - id: public-app\n", "  - id: public-app\n    response_types: [code]\n"
    )
    registry.write_text(text)
    limited = server_factory()
    params = implicit_params("public-app", "http://localhost/cb", prompt="")
    with browser(limited.url) as client:
        assert sign_in(client, limited.url).status_code == 200
        response = client.get(AUTHORIZE + "?" + urlencode(params))
    assert "error=unauthorized_client" in response.headers["location"]


# -- errors and sign-outs for clients nobody approved ----------------------------------------


def test_error_for_unapproved_dynamic_client_is_a_page(server: RunningServer) -> None:
    client_id = attacker_client(server)
    params = {"client_id": client_id, "redirect_uri": ATTACKER, "response_type": "code"}
    anonymous = httpx.get(server.url + AUTHORIZE + "?" + urlencode(params))
    assert_page(anonymous)
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        silent = victim.get(AUTHORIZE + "?" + urlencode(implicit_params(client_id, ATTACKER)))
    assert_page(silent)


def test_error_for_approved_dynamic_client_goes_back(server: RunningServer) -> None:
    client_id = attacker_client(server, token_endpoint_auth_method="none")
    params = implicit_params(client_id, ATTACKER, prompt="")
    consent = {
        "allow": True,
        "scope": "openid profile",
        "client_id": client_id,
        "redirect_uri": ATTACKER,
        "ref": "s",
        "flow_nonce": "n",
        "state": "c1",
    }
    with browser(server.url) as user:
        assert sign_in(user, server.url).status_code == 200
        said = user.post(
            "/signin/v1/identifier/_/consent", json=consent, headers=api_headers(server.url)
        )
        assert said.status_code == 200, said.text
        failing = {**params, "prompt": "none", "konnect": "c1", "max_age": "soon"}
        response = user.get(AUTHORIZE + "?" + urlencode(failing))
    assert response.status_code == 302
    assert response.headers["location"].startswith(ATTACKER + "#error=invalid_request")


def test_dynamic_post_logout_uris_must_be_https_or_an_app_scheme(server: RunningServer) -> None:
    refused: list[dict[str, Any]] = [
        {"post_logout_redirect_uris": ["http://attacker.example.net/"]},
        {"post_logout_redirect_uris": ["ftp://attacker.example.net/"]},
        {
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1:9999/cb"],
            "post_logout_redirect_uris": ["myapp://logout"],
        },
    ]
    for metadata in refused:
        response = register(server, **metadata)
        assert response.status_code == 400, metadata
    accepted: list[dict[str, Any]] = [
        {"post_logout_redirect_uris": ["https://rp.example.net/bye"]},
        {
            "application_type": "native",
            "redirect_uris": ["com.example.app://cb"],
            "post_logout_redirect_uris": ["com.example.app://logout"],
        },
    ]
    for metadata in accepted:
        assert register(server, **metadata).status_code == 201, metadata


def test_end_session_does_not_redirect_for_unapproved_dynamic_client(
    server: RunningServer,
) -> None:
    client_id = attacker_client(server, post_logout_redirect_uris=[ATTACKER])
    query = {"client_id": client_id, "post_logout_redirect_uri": ATTACKER, "state": "x"}
    response = httpx.get(server.url + ENDSESSION + "?" + urlencode(query))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(server.url + "/signin/v1/goodbye?"), location
    assert "logout=" not in location  # nothing leads there after a confirmation either


# -- end session: hints and confirmation -------------------------------------------------------


def test_bare_end_session_link_asks_before_signing_out(server: RunningServer) -> None:
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        response = victim.get(ENDSESSION + "?client_id=trusted-app")
        assert response.headers["location"].startswith(server.url + "/signin/v1/goodbye?")
        assert signed_in(victim, server.url)


def access_token_for(client: httpx.Client) -> str:
    params = good_params(
        prompt="none",
        response_type="id_token token",
        code_challenge="-",
        code_challenge_method="-",
    )
    response = client.get(AUTHORIZE + "?" + urlencode(params))
    return parse_qs(urlsplit(response.headers["location"]).fragment)["access_token"][0]


def test_access_token_is_no_id_token_hint(server: RunningServer) -> None:
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        token = access_token_for(victim)
        query = {"id_token_hint": token, "post_logout_redirect_uri": REDIRECT}
        response = victim.get(ENDSESSION + "?" + urlencode(query))
        assert_page(response)
        assert signed_in(victim, server.url)
        at_authorize = victim.get(AUTHORIZE + "?" + urlencode(good_params(id_token_hint=token)))
        assert "error=invalid_request" in at_authorize.headers["location"]
        assert id_token_for(victim)  # a real ID token still works as a hint


# -- script URIs ---------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["javascript://x/%0Aalert(1)", "data://x/text/html,hi"])
def test_script_uris_cannot_be_registered(server: RunningServer, uri: str) -> None:
    native = {"application_type": "native"}
    as_redirect = register(server, redirect_uris=[uri], **native)
    assert as_redirect.status_code == 400
    assert as_redirect.json()["error"] == "invalid_redirect_uri"
    as_logout = register(
        server,
        redirect_uris=["http://127.0.0.1:9999/cb"],
        post_logout_redirect_uris=[uri],
        **native,
    )
    assert as_logout.status_code == 400


def test_script_uris_stop_startup_and_never_match(
    server_factory: Callable[..., RunningServer], config_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "clients:\n  - id: app\n    application_type: native\n"
        "    redirect_uris: ['javascript://x/%0Aalert(1)']\n"
    )
    with pytest.raises(ConfigError, match="javascript: scheme"):
        server_factory(identifier_registration_conf=bad)
    anything = tmp_path / "insecure.yaml"
    anything.write_text("clients:\n  - id: dev\n    insecure: yes\n    trusted: yes\n")
    insecure = server_factory(identifier_registration_conf=anything)
    params = implicit_params("dev", "javascript://x/%0Aalert(document.cookie)")
    with browser(insecure.url) as victim:
        assert sign_in(victim, insecure.url).status_code == 200
        assert_page(victim.get(AUTHORIZE + "?" + urlencode(params)))


# -- the consent screen -----------------------------------------------------------------------


def test_consent_data_shows_destination_and_unverified_name(server: RunningServer) -> None:
    client_id = attacker_client(server, request_object_signing_alg="none")
    inner = {"redirect_uri": ATTACKER, "nonce": "n", "state": "s", "scope": "openid"}
    request = unsigned(inner)
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid",
        "request": request,
    }
    with browser(server.url) as victim:
        assert sign_in(victim, server.url).status_code == 200
        response = victim.get(AUTHORIZE + "?" + urlencode(params))
        shown = parse_qs(urlsplit(response.headers["location"]).query)
        assert shown["redirect_uri"] == [ATTACKER]  # the web app sees where this leads
        hello = {
            "state": "h",
            "flow": "consent",
            "scope": "openid",
            "client_id": client_id,
            "redirect_uri": shown["redirect_uri"][0],
        }
        answer = victim.post(HELLO, json=hello, headers=api_headers(server.url)).json()
    assert answer["client"]["display_name"] == "Nextcloud"
    assert answer["client"]["verified"] is False
    assert answer["client"]["redirect_host"] == "attacker.example.net"
    registered = victim_hello(server, "trusted-app", REDIRECT)
    assert registered["client"]["verified"] is True


def victim_hello(server: RunningServer, client_id: str, redirect_uri: str) -> dict[str, Any]:
    hello = {
        "state": "h",
        "flow": "consent",
        "prompt": "consent",
        "scope": "openid",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
    }
    with browser(server.url) as user:
        assert sign_in(user, server.url).status_code == 200
        return dict(user.post(HELLO, json=hello, headers=api_headers(server.url)).json())


def unsigned(claims: dict[str, str]) -> str:
    """A request object with `alg: none`."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none"}) + "." + part(claims) + "."
