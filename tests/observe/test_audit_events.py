"""Each security-relevant action of a running konnect writes its audit event, without secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from konnect.http.app import Overrides
from konnect.observe import AuditLog, Events
from tests.conftest import RunningServer, browser, sign_in
from tests.flows.test_dynamic_registration import registered
from tests.flows.test_guest_flow import (  # noqa: F401 (fixtures)
    answer,
    authorize,
    guest_claims,
    guest_server_factory,
    meet_key,
    sign,
)
from tests.flows.test_proxy_sign_on import logon
from tests.flows.test_refresh_rotation import first_tokens
from tests.flows.test_revocation_introspection import introspect
from tests.jitsi.conftest import follow_login, jitsi_folder  # noqa: F401 (fixture)
from tests.jitsi.test_jitsi_invitations import call, invite, join, sealed

AUTH = ("trusted-app", "trusted-secret")


class Audit:
    """The audit log of one server, as parsed JSON events."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.events = Events(audit=AuditLog(self.lines.append))

    def named(self, *names: str) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [event for event in parsed if event["event"] in names]


@pytest.fixture
def audit() -> Audit:
    return Audit()


@pytest.fixture
def observed(
    server_factory: Callable[..., RunningServer], audit: Audit
) -> Callable[..., RunningServer]:
    def start(**changes: object) -> RunningServer:
        return server_factory(Overrides(events=audit.events), **changes)

    return start


def test_token_calls_are_audited(observed: Callable[..., RunningServer], audit: Audit) -> None:
    server = observed()
    tokens = first_tokens(server, *AUTH)
    assert introspect(server, tokens["access_token"]).json()["active"] is True
    assert introspect(server, "garbage").json() == {"active": False}
    revoked = httpx.post(
        server.url + "/konnect/v1/revoke", data={"token": tokens["refresh_token"]}, auth=AUTH
    )
    assert revoked.status_code == 200
    service = httpx.post(
        server.url + "/konnect/v1/token",
        data={"grant_type": "client_credentials"},
        auth=("service-app", "service-secret"),
    )
    assert service.status_code == 200, service.text

    checks = audit.named("token_introspection")
    assert [(event["client_id"], event["active"]) for event in checks] == [
        ("trusted-app", True),
        ("trusted-app", False),
    ]
    [revocation] = audit.named("token_revocation")
    assert revocation["outcome"] == "revoked"
    issued = audit.named("token_issued")
    assert [(event["grant_type"], event["user"]) for event in issued] == [
        ("authorization_code", "jonas"),
        ("client_credentials", None),
    ]
    secrets = [*tokens.values(), service.json()["access_token"], "trusted-secret"]
    secrets = [secret for secret in secrets if isinstance(secret, str) and len(secret) > 16]
    assert not [secret for secret in secrets if any(secret in line for line in audit.lines)]


def test_throttled_sign_in_and_denied_consent_are_audited(
    observed: Callable[..., RunningServer], audit: Audit
) -> None:
    server = observed(sign_in_attempts_per_user=1)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        assert sign_in(client, server.url, "timmothy").status_code == 204  # disabled user
        refused = sign_in(client, server.url, "timmothy")
        assert refused.status_code == 429, refused.text
    reasons = [event["reason"] for event in audit.named("sign_in_failed")]
    assert reasons == ["wrong_credentials", "throttled"]


def test_dynamic_registration_is_audited(
    observed: Callable[..., RunningServer], audit: Audit
) -> None:
    server = observed(allow_dynamic_client_registration=True)
    client = registered(server)
    [event] = audit.named("client_registered")
    assert event["client_id"] == client["client_id"]
    assert event["redirect_uris"] == ["https://a.example.org/cb"]
    assert client["client_secret"] not in audit.lines[0]


def test_guest_admission_is_audited(
    guest_server_factory: Callable[..., RunningServer],  # noqa: F811
    meet_key: ECKey,  # noqa: F811
    audit: Audit,
) -> None:
    server = guest_server_factory(overrides=Overrides(events=audit.events))
    result = answer(authorize(server, sign(meet_key, guest_claims())))
    [admitted] = audit.named("guest_admitted")
    assert admitted["client_id"] == "kpop-meet"
    [issued] = audit.named("token_issued")
    assert issued["grant_type"] == "implicit"
    assert result["access_token"] not in "".join(audit.lines)


def test_jitsi_tokens_and_invitations_are_audited(
    observed: Callable[..., RunningServer],
    audit: Audit,
    jitsi_folder: Path,  # noqa: F811
) -> None:
    server = observed(
        jitsi_conf=jitsi_folder / "jitsi.yaml", users_file=jitsi_folder / "users.yaml"
    )
    with browser(server.url) as jonas, httpx.Client(base_url=server.url) as guest:
        assert sign_in(jonas, server.url).status_code == 200
        assert follow_login(jonas, "room=Planning&server=meet").status_code == 302
        made = invite(jonas, room="Planning")
        assert join(guest, made["link"]).status_code == 200
        withdrawn = call(jonas, "revoke", invitation=sealed(made["link"]))
        assert withdrawn.status_code == 200, withdrawn.text
    names = [json.loads(line)["event"] for line in audit.lines]
    assert names[1:] == ["jitsi_token", "invitation_created", "jitsi_token", "invitation_revoked"]
    user_token, created, guest_token, revoked = audit.named(
        "jitsi_token", "invitation_created", "invitation_revoked"
    )
    assert (user_token["kind"], user_token["user"]) == ("user", "jonas")
    assert (guest_token["kind"], guest_token["user"]) == ("guest", "Gustav Gast")
    assert created["invitation"] == revoked["invitation"] == made["id"]
    assert sealed(made["link"]) not in "".join(audit.lines)


def test_the_client_address_comes_from_a_trusted_proxy(
    observed: Callable[..., RunningServer], audit: Audit
) -> None:
    """The untrusted case is in the scripted session: the test harness's own server would
    take the header itself."""
    server = observed(trusted_proxies=("127.0.0.0/8",))
    with browser(server.url) as client:
        client.headers["X-Forwarded-For"] = "203.0.113.9"
        assert sign_in(client, server.url).status_code == 200
    [event] = audit.named("sign_in")
    assert event["client_ip"] == "203.0.113.9"


def test_proxy_sign_on_is_audited(observed: Callable[..., RunningServer], audit: Audit) -> None:
    server = observed(trusted_proxies=("127.0.0.0/8",), forwarded_user_sign_in=True)
    with browser(server.url) as client:
        assert logon(client, server.url, "jonas", ["jonas", "", "1"]).status_code == 200
    [event] = audit.named("sign_in")
    assert (event["user"], event["method"]) == ("jonas", "proxy")
