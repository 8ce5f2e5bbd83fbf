"""An issuer on plain http that is not a loopback address (a test set-up on a LAN) is warned
about at startup, and then works: the token endpoint answers as it does on https."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import RunningServer, free_port

TRUSTED = ("trusted-app", "trusted-secret")


def test_the_token_endpoint_answers_on_a_plain_http_issuer(
    server_factory: Callable[..., RunningServer],
) -> None:
    port = free_port()
    server = server_factory(port=port, issuer=f"http://konnect.test:{port}")
    data = {"grant_type": "refresh_token", "refresh_token": "not-a-token"}
    answer = httpx.post(server.url + "/konnect/v1/token", data=data, auth=TRUSTED)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_grant"
