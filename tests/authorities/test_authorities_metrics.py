"""Calls to upstream authorities are timed and failed ones counted in the metrics: an OpenID
provider's discovery, keys and token endpoint (node-oidc-provider) and a SAML identity
provider's metadata (pysaml2's IdP), each while the upstream is down and once it is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from konnect.authorities.upstream import RETRY_AFTER
from konnect.http.app import Overrides
from konnect.observe import Events
from konnect.observe.metrics import Metrics
from tests.authorities.conftest import Federation, follow
from tests.authorities.saml_setup import SamlFederation, saml_factory  # noqa: F401
from tests.authorities.test_authorities_availability import START
from tests.authorities.test_authorities_saml import signed_in
from tests.authorities.test_authorities_signin import (
    AUTHORIZE,
    code_after_sign_in,
    error_at_client,
    upstream_round_trip,
)
from tests.conftest import Clock, browser
from tests.flows.test_bad_input import good_params


def unavailable(konnect_url: str) -> None:
    """A sign-in that starts at the authority while it is down."""
    with browser(konnect_url) as client:
        response = client.get(AUTHORIZE + "?" + urlencode(good_params()))
        location = str(response.url.join(response.headers["location"]))
        start = client.get(follow(client, location, konnect_url + START))
        assert error_at_client(start)["error"] == ["temporarily_unavailable"]


def _sample(events: Events, name: str, authority: str, operation: str) -> float:
    assert events.metrics is not None
    labels = {"authority": authority, "operation": operation}
    return events.metrics.registry.get_sample_value(name, labels) or 0.0


def measured(events: Events, authority: str, operation: str) -> tuple[float, float]:
    """How many calls were timed, and how many of them failed."""
    return (
        _sample(events, "konnect_authority_duration_seconds_count", authority, operation),
        _sample(events, "konnect_authority_errors_total", authority, operation),
    )


def test_openid_provider_discovery_keys_and_token_calls_are_measured(
    federation_factory: Callable[..., Federation],
) -> None:
    clock = Clock(time.time())
    events = Events(Metrics())
    federation = federation_factory(overrides=Overrides(clock=clock, events=events))
    federation.upstream.stop()
    unavailable(federation.konnect.url)
    assert measured(events, "corp", "discovery") == (1, 1)
    federation.upstream.start()
    clock.advance(RETRY_AFTER + 1)
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, upstream_round_trip(client, federation))
    assert measured(events, "corp", "discovery") == (2, 1)
    assert measured(events, "corp", "jwks") == (1, 0)
    assert measured(events, "corp", "token") == (1, 0)


def test_saml_metadata_fetches_are_measured(saml_factory: Callable[..., SamlFederation]) -> None:  # noqa: F811
    clock = Clock(time.time())
    events = Events(Metrics())
    federation = saml_factory(start_idp=False, overrides=Overrides(clock=clock, events=events))
    unavailable(federation.konnect.url)
    assert measured(events, "campus", "saml_metadata") == (1, 1)
    federation.idp.start()
    clock.advance(RETRY_AFTER + 1)
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, signed_in(client, federation))
    assert measured(events, "campus", "saml_metadata") == (2, 1)
