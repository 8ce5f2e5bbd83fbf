"""Multi-factor sign-in with second factors in PostgreSQL: an outage of the database refuses
sign-ins clearly (never a 500), is logged once, and heals by itself when the database is back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import pytest

from konnect.mfa.totp import totp_code
from tests.conftest import Clock, PostgresServer, RunningServer, sign_in
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import enrol, post
from tests.flows.test_mfa_signin import mfa_server as mfa_server


def test_a_database_outage_refuses_sign_ins_until_it_is_back(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[[RunningServer], httpx.Client],
    clock: Clock,
    private_postgres: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = mfa_server(credential_store=private_postgres.new_database())
    seed, _ = enrol(client_of(server), clock)
    caplog.set_level(logging.DEBUG, logger="konnect")
    private_postgres.stop()
    refused = [sign_in(client_of(server), server.url) for _ in range(3)]
    for response in refused:
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "temporarily_unavailable"
    [outage] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    database = f"postgresql://konnect@127.0.0.1:{private_postgres.port}/"
    assert outage.startswith(f"credential store {database}")
    assert " unavailable: " in outage

    private_postgres.start()
    client = client_of(server)
    deadline = time.monotonic() + 20
    while (asked := sign_in(client, server.url)).status_code == 503:
        assert time.monotonic() < deadline, "sign-in did not recover"
        time.sleep(0.2)
    assert asked.json()["hello"]["mfa"]["methods"] == ["totp", "recovery"]
    clock.advance(30)
    accepted = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert accepted.json()["success"] is True
    assert any("available again" in r.getMessage() for r in caplog.records)
