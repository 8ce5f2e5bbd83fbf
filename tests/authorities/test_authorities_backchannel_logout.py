"""`trusted: yes`: the upstream provider may end the konnect sign-ins it started, by
OpenID Connect Back-Channel Logout; every check of the logout token is enforced, and
providers that are not trusted cannot sign anyone out."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.authorities.conftest import Federation, authority_entry
from tests.authorities.test_authorities_signin import (
    AUTHORIZE,
    code_after_sign_in,
    upstream_round_trip,
)
from tests.conftest import browser
from tests.flows.test_bad_input import REDIRECT, good_params

LOGOUT = "/signin/v1/identifier/oauth2/logout"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def trusted(federation_factory: Callable[..., Federation]) -> Federation:
    return federation_factory(lambda up: [authority_entry(up, trusted=True)])


def still_signed_in(client: httpx.Client) -> bool:
    """Whether konnect answers a silent authorization request with a code."""
    answer = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    location = answer.headers["location"]
    assert location.startswith(REDIRECT), location
    query = parse_qs(urlsplit(location.rstrip("#")).query)
    if "code" in query:
        return True
    assert query["error"] == ["login_required"]
    return False


def sign_out_upstream(client: httpx.Client, federation: Federation) -> None:
    """The user signs out at the upstream provider, which tells its clients by back channel."""
    upstream = federation.upstream.issuer
    form = client.get(upstream + "/session/end?client_id=konnect")
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', form.text)
    assert xsrf is not None, form.text
    done = client.post(
        upstream + "/session/end/confirm", data={"xsrf": xsrf.group(1), "logout": "yes"}
    )
    assert done.status_code in (302, 303), done.text


def test_a_trusted_provider_ends_the_konnect_sign_in_it_started(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = trusted(federation_factory)
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation))
        assert still_signed_in(client)
        sign_out_upstream(client, federation)
        assert not still_signed_in(client)


def test_a_provider_that_is_not_trusted_cannot_end_sign_ins(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory()
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation))
        sign_out_upstream(client, federation)
        assert still_signed_in(client)


def logout_token(federation: Federation, key: RSAKey, **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": federation.upstream.issuer,
        "aud": "konnect",
        "iat": int(time.time()),
        "exp": int(time.time()) + 120,
        "jti": f"jti-{time.monotonic_ns()}",
        "sid": "upstream-session",
        "events": {EVENT: {}},
    }
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    header = {"alg": "RS256", "kid": key.kid or "upstream-1"}
    return jwt.encode(header, claims, key)


def post_logout(federation: Federation, token: str) -> httpx.Response:
    return httpx.post(federation.konnect.url + LOGOUT, data={"logout_token": token})


def test_a_well_formed_logout_token_is_answered_once(
    federation_factory: Callable[..., Federation], upstream_key: RSAKey
) -> None:
    federation = trusted(federation_factory)
    token = logout_token(federation, upstream_key)
    first = post_logout(federation, token)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    replayed = post_logout(federation, token)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"iss": "https://elsewhere.example"},
        {"events": None},
        {"events": {"http://schemas.openid.net/event/other": {}}},
        {"nonce": "n"},
        {"sid": None},
        {"jti": None},
        {"iat": int(time.time()) - 3600, "exp": int(time.time()) + 120},
        {"exp": int(time.time()) - 3600},
    ],
)
def test_logout_tokens_failing_a_check_are_refused(
    federation_factory: Callable[..., Federation], upstream_key: RSAKey, changes: dict[str, Any]
) -> None:
    federation = trusted(federation_factory)
    refused = post_logout(federation, logout_token(federation, upstream_key, **changes))
    assert refused.status_code == 400, refused.text


def test_forged_and_untrusted_logout_tokens_are_refused(
    federation_factory: Callable[..., Federation], upstream_key: RSAKey
) -> None:
    federation = trusted(federation_factory)
    forger = RSAKey.generate_key(2048, parameters={"kid": "upstream-1"})
    assert post_logout(federation, logout_token(federation, forger)).status_code == 400
    assert post_logout(federation, "not-a-jwt").status_code == 400
    assert httpx.post(federation.konnect.url + LOGOUT, data={}).status_code == 400


def test_a_provider_that_is_not_trusted_has_its_logout_tokens_refused(
    federation_factory: Callable[..., Federation], upstream_key: RSAKey
) -> None:
    federation = federation_factory()
    refused = post_logout(federation, logout_token(federation, upstream_key))
    assert refused.status_code == 400
