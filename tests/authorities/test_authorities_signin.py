"""Signing in at an upstream OpenID provider (node-oidc-provider on loopback) ends with
konnect's own code, tokens and subject at the relying party."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.authorities.conftest import CALLBACK, Federation, authority_entry, follow, path_of
from tests.conftest import browser, sign_in
from tests.flows.test_bad_input import REDIRECT, good_params
from tests.flows.test_consent_and_prompts import claims_of, exchange

AUTHORIZE = "/signin/v1/identifier/_/authorize"


def upstream_round_trip(
    client: httpx.Client, federation: Federation, login_hint: str = "jonas", **params: str
) -> httpx.Response:
    """From the relying party's authorization request to konnect's answer to the upstream's
    callback."""
    konnect = federation.konnect.url
    response = client.get(AUTHORIZE + "?" + urlencode(good_params(login_hint=login_hint, **params)))
    callback = follow(
        client, str(response.url.join(response.headers["location"])), konnect + CALLBACK
    )
    return client.get(callback)


def code_after_sign_in(client: httpx.Client, back: httpx.Response) -> str:
    """Back at the authorization endpoint, signed in: the relying party gets its code."""
    assert path_of(back.headers["location"]) == AUTHORIZE, back.text
    answer = client.get(back.headers["location"])
    assert answer.headers["location"].startswith(REDIRECT), answer.headers["location"]
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def local_subject(federation: Federation) -> str:
    """The subject konnect gives jonas after a password sign-in."""
    with browser(federation.konnect.url) as client:
        assert sign_in(client, federation.konnect.url).status_code == 200
        answer = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    return str(claims_of(exchange(federation.konnect, code)["id_token"])["sub"])


def test_signing_in_upstream_gives_konnects_own_code_tokens_and_subject(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    with browser(federation.konnect.url) as client:
        code = code_after_sign_in(client, upstream_round_trip(client, federation))
    tokens = exchange(federation.konnect, code)
    claims = claims_of(tokens["id_token"])
    assert claims["iss"] == federation.konnect.url
    assert claims["name"] == "Jonas Brekke"  # konnect's own claims, not the upstream's
    assert claims["sub"] == local_subject(federation)
    userinfo = httpx.get(
        federation.konnect.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert userinfo.json()["sub"] == claims["sub"]


def test_an_alias_maps_the_upstream_name_to_the_local_user(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    with browser(federation.konnect.url) as client:
        back = upstream_round_trip(client, federation, login_hint="brekke")
        code = code_after_sign_in(client, back)
    assert claims_of(exchange(federation.konnect, code)["id_token"])["sub"] == local_subject(
        federation
    )


def error_at_client(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return parse_qs(urlsplit(location.rstrip("#")).query)


def test_a_user_unknown_here_or_without_a_required_alias_is_refused_at_the_client(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(lambda up: [authority_entry(up, identity_alias_required=True)])
    for account in ("stranger", "jonas"):  # unknown here; known but not aliased
        with browser(federation.konnect.url) as client:
            answer = error_at_client(upstream_round_trip(client, federation, login_hint=account))
        assert answer["error"] == ["access_denied"]
        assert answer["state"] == ["st"]
    with browser(federation.konnect.url) as client:
        back = upstream_round_trip(client, federation, login_hint="brekke")
        assert path_of(back.headers["location"]) == AUTHORIZE


def test_a_replayed_answer_is_refused(federation_factory: Callable[..., Federation]) -> None:
    federation = federation_factory()
    konnect = federation.konnect.url
    with browser(konnect) as client:
        response = client.get(AUTHORIZE + "?" + urlencode(good_params(login_hint="jonas")))
        callback = follow(
            client, str(response.url.join(response.headers["location"])), konnect + CALLBACK
        )
        kept = list(client.cookies.jar)
        assert path_of(client.get(callback).headers["location"]) == AUTHORIZE
    with browser(konnect) as replay:
        for cookie in kept:  # the answer and the cookie, copied before their use
            replay.cookies.jar.set_cookie(cookie)
        assert error_at_client(replay.get(callback))["error"] == ["access_denied"]
    with browser(konnect) as elsewhere:  # the answer alone, in another browser
        page = elsewhere.get(callback)
        assert page.status_code == 400
        assert "Location" not in page.headers


def test_upstream_errors_reach_the_client_as_oauth_errors(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    konnect = federation.konnect.url
    with browser(konnect) as client:
        response = client.get(AUTHORIZE + "?" + urlencode(good_params()))
        start = follow(
            client,
            str(response.url.join(response.headers["location"])),
            konnect + "/signin/v1/identifier/oauth2/start",
        )
        upstream = client.get(start).headers["location"]
        state = parse_qs(urlsplit(upstream).query)["state"][0]
        answer = client.get(CALLBACK + "?" + urlencode({"error": "server_error", "state": state}))
    assert error_at_client(answer)["error"] == ["access_denied"]


def test_a_login_or_domain_hint_picks_the_authority_of_its_domain(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(
        lambda up: [
            authority_entry(up, default=None),
            authority_entry(
                up,
                id="partner",
                default=None,
                domains=["Partner.example"],
                scopes=["openid", "profile", "email"],
            ),
        ]
    )
    konnect = federation.konnect.url
    for hint in ({"login_hint": "jonas@partner.example"}, {"domain_hint": "partner.example"}):
        with browser(konnect) as client:
            response = client.get(AUTHORIZE + "?" + urlencode(good_params(**hint)))
            page = client.get(response.headers["location"])
            assert page.status_code == 302, page.text
            upstream = client.get(page.headers["location"]).headers["location"]
        assert parse_qs(urlsplit(upstream).query)["scope"] == ["openid profile email"]
    with browser(konnect) as client:  # no hint, no default: the sign-in page with buttons
        response = client.get(AUTHORIZE + "?" + urlencode(good_params(login_hint="jonas")))
        assert client.get(response.headers["location"]).status_code == 200


def test_hostile_answers_and_starts_get_pages_not_500s(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    with browser(federation.konnect.url) as client:
        for query in (
            "",
            "state=" + "a" * 5000,
            "state=x&state=y",
            "state=" + "a" * 32 + "&code=c",
            "error=access_denied",
        ):
            assert client.get(CALLBACK + "?" + query).status_code == 400, query
        start = "/signin/v1/identifier/oauth2/start?"
        assert client.get(start + "authority=nobody").status_code == 400
        assert client.get(start + "authority=corp&authority=corp").status_code == 400
