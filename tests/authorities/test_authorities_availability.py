"""An upstream that cannot be reached answers temporarily_unavailable at the relying party,
and sign-in works again by itself once the upstream is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest
from joserfc.jwk import RSAKey

from konnect.authorities.upstream import KEYS_RETRY_AFTER, REFRESH_AFTER, RETRY_AFTER
from konnect.http.app import Overrides
from tests.authorities.conftest import Federation, follow, path_of
from tests.authorities.test_authorities_signin import (
    AUTHORIZE,
    error_at_client,
    upstream_round_trip,
)
from tests.conftest import Clock, browser
from tests.flows.test_bad_input import good_params

START = "/signin/v1/identifier/oauth2/start"


def through_start(client: httpx.Client, federation: Federation) -> httpx.Response:
    response = client.get(AUTHORIZE + "?" + urlencode(good_params()))
    location = str(response.url.join(response.headers["location"]))
    return client.get(follow(client, location, federation.konnect.url + START))


def test_an_unreachable_upstream_answers_temporarily_unavailable_and_recovers(
    federation_factory: Callable[..., Federation],
) -> None:
    clock = Clock(time.time())
    federation = federation_factory(overrides=Overrides(clock=clock))
    federation.upstream.stop()
    with browser(federation.konnect.url) as client:
        refused = error_at_client(through_start(client, federation))
    assert refused["error"] == ["temporarily_unavailable"]
    assert refused["state"] == ["st"]
    federation.upstream.start()
    clock.advance(RETRY_AFTER + 1)
    with browser(federation.konnect.url) as client:
        back = upstream_round_trip(client, federation)
        assert path_of(back.headers["location"]) == AUTHORIZE, back.headers["location"]


def test_a_rotated_upstream_key_is_fetched_when_a_token_names_it(
    federation_factory: Callable[..., Federation],
) -> None:
    clock = Clock(time.time())
    federation = federation_factory(overrides=Overrides(clock=clock))
    with browser(federation.konnect.url) as client:
        assert path_of(upstream_round_trip(client, federation).headers["location"]) == AUTHORIZE
    federation.upstream.stop()
    federation.upstream.key = RSAKey.generate_key(
        2048, parameters={"kid": "upstream-2", "alg": "RS256", "use": "sig"}
    )
    federation.upstream.start()
    clock.advance(KEYS_RETRY_AFTER + 1)
    with browser(federation.konnect.url) as client:
        assert path_of(upstream_round_trip(client, federation).headers["location"]) == AUTHORIZE


def test_known_metadata_is_refreshed_in_the_background_and_kept_while_the_upstream_is_down(
    federation_factory: Callable[..., Federation], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(time.time())
    federation = federation_factory(overrides=Overrides(clock=clock))
    with browser(federation.konnect.url) as client:
        assert path_of(upstream_round_trip(client, federation).headers["location"]) == AUTHORIZE
    federation.upstream.stop()
    clock.advance(REFRESH_AFTER + 1)
    for _ in range(2):  # the first start spawns the refresh, which fails; both still start
        with browser(federation.konnect.url) as client:
            answer = through_start(client, federation)
        assert answer.headers["location"].startswith(federation.upstream.issuer + "/auth?")
    assert "openid-configuration could not be fetched" in caplog.text  # the refresh was tried
