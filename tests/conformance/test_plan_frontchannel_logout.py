"""Front-Channel Logout OP (oidcc-frontchannel-rp-initiated-logout-certification-test-plan):
the browser, logging out at the end session endpoint, loads the client's
frontchannel_logout_uri with iss and sid, then returns to the post_logout_redirect_uri."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conformance.channels import (
    CHANNEL_CLIENT,
    check_logout_discovery,
    check_post_logout_redirect,
    load_frames,
    open_end_session,
    start_with_channel,
)
from tests.conformance.flow import run_flow
from tests.conformance.harness import CODE, Conformance
from tests.conformance.logout import still_signed_in
from tests.conformance.receiver import FRONTCHANNEL_PATH, Receiver

pytestmark = pytest.mark.conformance(
    "oidcc-frontchannel-rp-initiated-logout-certification-test-plan"
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Conformance, Receiver]]:
    folder = tmp_path_factory.mktemp("conformance-frontchannel")
    yield from start_with_channel(folder, "frontchannel", FRONTCHANNEL_PATH)


@pytest.fixture(scope="module")
def conf(running: tuple[Conformance, Receiver]) -> Conformance:
    return running[0]


def test_oidcc_frontchannel_logout_discovery_endpoint_verification(conf: Conformance) -> None:
    check_logout_discovery(conf, "frontchannel")


def test_oidcc_frontchannel_rp_initiated_logout(
    running: tuple[Conformance, Receiver], browser: httpx.Client
) -> None:
    conf, receiver = running
    flow = run_flow(conf, browser, CODE, client=CHANNEL_CLIENT, expect_login=True)
    assert flow.id_token
    sid = flow.claims["sid"]  # frontchannel_logout_session_required: the ID token has sid
    next_url = load_frames(open_end_session(conf, browser, flow.id_token))

    request = receiver.wait_for(FRONTCHANNEL_PATH)
    assert request.method == "GET"
    assert set(request.query) == {"iss", "sid"}  # no unexpected parameters
    assert request.query["iss"] == [conf.meta["issuer"]]
    assert request.query["sid"] == [sid]
    check_post_logout_redirect(next_url)
    assert not still_signed_in(conf, browser)
