"""Back-Channel Logout OP (oidcc-backchannel-rp-initiated-logout-certification-test-plan):
logging out at the end session endpoint makes konnect POST a signed logout token to the
client's backchannel_logout_uri, a real server on loopback that checks it as the suite does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conformance.channels import (
    CHANNEL_CLIENT,
    CHANNEL_CLIENT_ID,
    check_logout_discovery,
    check_post_logout_redirect,
    open_end_session,
    start_with_channel,
    verified_logout_token,
)
from tests.conformance.flow import run_flow
from tests.conformance.harness import CODE, SKEW, Conformance
from tests.conformance.logout import still_signed_in
from tests.conformance.receiver import BACKCHANNEL_PATH, Receiver

pytestmark = pytest.mark.conformance(
    "oidcc-backchannel-rp-initiated-logout-certification-test-plan"
)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Conformance, Receiver]]:
    folder = tmp_path_factory.mktemp("conformance-backchannel")
    yield from start_with_channel(folder, "backchannel", BACKCHANNEL_PATH)


@pytest.fixture(scope="module")
def conf(running: tuple[Conformance, Receiver]) -> Conformance:
    return running[0]


def test_oidcc_backchannel_logout_discovery_endpoint_verification(conf: Conformance) -> None:
    check_logout_discovery(conf, "backchannel")


def check_logout_token_claims(conf: Conformance, claims: dict[str, Any]) -> None:
    """ValidateLogoutTokenClaims, CheckLogoutTokenNoNonce, CheckLogoutTokenHasSubOrSid
    (Back-Channel Logout 1.0 §2.4)."""
    now = conf.clock()
    assert claims["iss"] == conf.meta["issuer"]
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert CHANNEL_CLIENT_ID in audience
    assert isinstance(claims["iat"], int)
    assert now - 300 < claims["iat"] <= now + SKEW
    if "exp" in claims:
        assert claims["exp"] > now - SKEW
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert isinstance(claims["events"], dict)
    assert claims["events"][BACKCHANNEL_EVENT] == {}
    assert "nonce" not in claims
    assert "sub" in claims or "sid" in claims


def test_oidcc_backchannel_rp_initiated_logout(
    running: tuple[Conformance, Receiver], browser: httpx.Client
) -> None:
    conf, receiver = running
    flow = run_flow(conf, browser, CODE, client=CHANNEL_CLIENT, expect_login=True)
    assert flow.id_token
    response = open_end_session(conf, browser, flow.id_token)
    assert response.status_code in (302, 303), response.text
    check_post_logout_redirect(response.headers["location"])

    request = receiver.wait_for(BACKCHANNEL_PATH)
    assert request.content_type.split(";")[0] == "application/x-www-form-urlencoded"
    assert set(request.form) == {"logout_token"}  # no unexpected parameters
    assert not request.query
    [token] = request.form["logout_token"]
    header, claims = verified_logout_token(conf, token)
    assert header["typ"] == "logout+jwt"
    check_logout_token_claims(conf, claims)
    assert claims["sid"] == flow.claims["sid"]  # backchannel_logout_session_required
    if "sub" in claims:
        assert claims["sub"] == flow.claims["sub"]
    assert not still_signed_in(conf, browser)
