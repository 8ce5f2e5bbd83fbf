"""Every check of the upstream's ID token, performed against a running konnect: an answer in
the front channel (`response_type: id_token`) is whatever the browser brings, so each forged,
misdirected or stale token must be refused, and the relying party hears access_denied."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.authorities.conftest import (
    CALLBACK,
    Federation,
    Upstream,
    authority_entry,
    follow,
    path_of,
)
from tests.authorities.test_authorities_signin import AUTHORIZE, error_at_client
from tests.conftest import browser
from tests.flows.test_bad_input import good_params

START = "/signin/v1/identifier/oauth2/start"


def front_channel(upstream: Upstream) -> list[dict[str, object]]:
    public = upstream.key.as_dict(private=False)
    return [
        authority_entry(
            upstream,
            response_type="id_token",
            discover=False,
            authorization_endpoint=upstream.issuer + "/auth",
            jwks={"keys": [public]},
        )
    ]


def pending_sign_in(client: httpx.Client, federation: Federation) -> tuple[str, str]:
    """Starts a sign-in; the state and nonce konnect sent the upstream."""
    konnect = federation.konnect.url
    response = client.get(AUTHORIZE + "?" + urlencode(good_params()))
    start = follow(client, str(response.url.join(response.headers["location"])), konnect + START)
    query = parse_qs(urlsplit(client.get(start).headers["location"]).query)
    assert query["response_type"] == ["id_token"]
    return query["state"][0], query["nonce"][0]


def claims(upstream: Upstream, expected_nonce: str, **changes: object) -> dict[str, object]:
    now = int(time.time())
    values: dict[str, object] = {
        "iss": upstream.issuer,
        "sub": "jonas",
        "aud": "konnect",
        "nonce": expected_nonce,
        "iat": now,
        "exp": now + 300,
        "preferred_username": "jonas",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def signed(key: RSAKey, values: dict[str, object]) -> str:
    return jwt.encode({"alg": "RS256", "kid": "upstream-1"}, values, key)


def unsigned(values: dict[str, object]) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none", "kid": "upstream-1"}) + "." + part(values) + "."


def answer(client: httpx.Client, state: str, token: str) -> httpx.Response:
    return client.get(CALLBACK + "?" + urlencode({"state": state, "id_token": token}))


def test_each_id_token_check_refuses_a_bad_token(
    federation_factory: Callable[..., Federation],
) -> None:
    federation = federation_factory(front_channel)
    upstream = federation.upstream
    other_key = RSAKey.generate_key(2048, parameters={"kid": "upstream-1"})
    now = int(time.time())
    bad_tokens: dict[str, Callable[[str], str]] = {
        "forged signature": lambda nonce: signed(other_key, claims(upstream, nonce)),
        "unsigned": lambda nonce: unsigned(claims(upstream, nonce)),
        "another issuer": lambda nonce: signed(
            upstream.key, claims(upstream, nonce, iss="http://127.0.0.1:1")
        ),
        "another audience": lambda nonce: signed(
            upstream.key, claims(upstream, nonce, aud="other")
        ),
        "another authorized party": lambda nonce: signed(
            upstream.key, claims(upstream, nonce, aud=["konnect", "other"], azp="other")
        ),
        "wrong nonce": lambda nonce: signed(upstream.key, claims(upstream, nonce + "x")),
        "no nonce": lambda nonce: signed(upstream.key, claims(upstream, nonce, nonce=None)),
        "expired": lambda nonce: signed(upstream.key, claims(upstream, nonce, exp=now - 120)),
        "not yet valid": lambda nonce: signed(upstream.key, claims(upstream, nonce, nbf=now + 600)),
        "issued in the future": lambda nonce: signed(
            upstream.key, claims(upstream, nonce, iat=now + 600)
        ),
        "no expiry": lambda nonce: signed(upstream.key, claims(upstream, nonce, exp=None)),
    }
    for case, make in bad_tokens.items():
        with browser(federation.konnect.url) as client:
            state, nonce = pending_sign_in(client, federation)
            refused = error_at_client(answer(client, state, make(nonce)))
        assert refused["error"] == ["access_denied"], case
        assert refused["state"] == ["st"], case
    with browser(federation.konnect.url) as client:
        state, nonce = pending_sign_in(client, federation)
        good = signed(upstream.key, claims(upstream, nonce, exp=now + 30, iat=now + 30))
        accepted = answer(client, state, good)  # within the leeway
        assert path_of(accepted.headers["location"]) == AUTHORIZE, accepted.text
    with browser(federation.konnect.url) as client:
        # The same token in a later sign-in: its nonce belongs to the earlier one.
        state, _ = pending_sign_in(client, federation)
        assert error_at_client(answer(client, state, good))["error"] == ["access_denied"]
