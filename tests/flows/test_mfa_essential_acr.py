"""An essential acr claim is a demand: with MFA on it asks the user for a second factor (the
authorization endpoint and the sign-in app agree, so the browser never loops), with MFA off
it cannot be met."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

import httpx

from konnect.mfa.totp import totp_code
from tests.conftest import Clock, RunningServer, sign_in
from tests.flows.test_bad_input import AUTHORIZE, good_params
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import cookie_names, post, seed_of, silent
from tests.flows.test_mfa_signin import mfa_server as mfa_server

MFA_ACR = json.dumps(
    {"id_token": {"acr": {"essential": True, "values": ["https://refeds.org/profile/mfa"]}}}
)


def test_an_essential_mfa_acr_asks_for_the_second_factor(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert "KKT" in cookie_names(sign_in(client, server.url))  # no factor, none required
    assert "code" in silent(client)
    assert silent(client, claims=MFA_ACR)["error"] == "interaction_required"
    interactive = client.get(AUTHORIZE + "?" + urlencode(good_params(claims=MFA_ACR)))
    assert "/signin/v1/identifier" in interactive.headers["location"]
    hello = {
        "flow": "oidc",
        "client_id": good_params()["client_id"],
        "redirect_uri": good_params()["redirect_uri"],
        "claims": MFA_ACR,
    }
    # The sign-in app is told the same: set up a second factor (without `claims`: nothing).
    plain = {key: value for key, value in hello.items() if key != "claims"}
    assert "mfa" not in post(client, "hello", **plain).json()
    assert post(client, "hello", **hello).json()["mfa"] == {"methods": [], "enrol": True}
    seed = seed_of(post(client, "mfa/enrol", step="begin").json())
    done = post(client, "mfa/enrol", step="confirm", code=totp_code(seed, clock.now))
    assert done.json()["success"] is True
    assert "code" in silent(client, claims=MFA_ACR)


def test_an_essential_mfa_acr_is_unmet_with_mfa_off(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        sign_in(client, server.url)
        assert silent(client, claims=MFA_ACR)["error"] == "unmet_authentication_requirements"
