"""`end_session_enabled`: signing out at konnect ends the upstream session too, and the
browser comes back to where konnect's sign-out was going."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.authorities.conftest import CALLBACK, Federation, authority_entry, path_of
from tests.authorities.test_authorities_signin import code_after_sign_in, upstream_round_trip
from tests.conftest import api_headers, browser
from tests.flows.test_bad_input import CHALLENGE


def upstream_session(client: httpx.Client, federation: Federation) -> str:
    """What the upstream answers a silent sign-in (prompt=none) in this browser: a code or
    an error."""
    params = {
        "client_id": "konnect",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": federation.konnect.url + CALLBACK,
        "prompt": "none",
        "state": "probe-state-0000000000000000000",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    location = client.get(federation.upstream.issuer + "/auth?" + urlencode(params)).headers[
        "location"
    ]
    while not location.startswith(federation.konnect.url):
        location = str(httpx.URL(federation.upstream.issuer).join(location))
        location = client.get(location).headers["location"]
    answer = parse_qs(urlsplit(location).query)
    return "code" if "code" in answer else answer["error"][0]


def test_signing_out_ends_the_upstream_session_too(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(lambda up: [authority_entry(up, end_session_enabled=True)])
    konnect = federation.konnect.url
    with browser(konnect) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation))
        assert upstream_session(client, federation) == "code"
        logoff = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "s"}, headers=api_headers(konnect)
        )
        onwards = logoff.json()["continue_uri"]
        assert onwards.startswith(federation.upstream.issuer + "/session/end?")
        assert "id_token_hint" in parse_qs(urlsplit(onwards).query)
        form = client.get(onwards)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', form.text)
        assert xsrf is not None, form.text
        confirmed = client.post(
            federation.upstream.issuer + "/session/end/confirm",
            data={"xsrf": xsrf.group(1), "logout": "yes"},
        )
        back = confirmed.headers["location"]
        assert back.startswith(konnect + CALLBACK)
        goodbye = client.get(back)
        assert path_of(goodbye.headers["location"]) == "/signin/v1/goodbye"
        assert upstream_session(client, federation) == "login_required"


def test_without_end_session_enabled_the_upstream_session_stays(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    konnect = federation.konnect.url
    with browser(konnect) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation))
        logoff = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "s"}, headers=api_headers(konnect)
        )
        assert "continue_uri" not in logoff.json()
        assert upstream_session(client, federation) == "code"
