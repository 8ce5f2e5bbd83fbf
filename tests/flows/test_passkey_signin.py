"""WebAuthn through the identifier API, with a software authenticator: a passkey set up at
sign-in, then a sign-in with it and no password; a security key after the password; and
the `amr` each gives in the ID token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from konnect.crypto import Sealer
from konnect.oidc.session import BrowserCookies
from konnect.oidc.urls import CookiePolicy, Endpoints
from tests.conftest import Clock, RunningServer, sign_in
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import cookie_names, post, silent
from tests.flows.test_mfa_signin import mfa_server as mfa_server
from tests.mfa.soft_authenticator import SoftAuthenticator


def amr_of(server: RunningServer, client: httpx.Client, clock: Clock) -> list[str]:
    """The methods the browser's sign-in cookie records (sealed with the test secret)."""
    assert "code" in silent(client)
    cookies = BrowserCookies(Sealer(bytes(range(32))), CookiePolicy(False), Endpoints(server.url))
    logon = cookies.read_logon(dict(client.cookies), now=int(clock.now))
    assert logon is not None
    return list(logon.amr)


def enrol_passkey(server: RunningServer, client: httpx.Client) -> SoftAuthenticator:
    key = SoftAuthenticator(rp_id="127.0.0.1", origin=server.url)
    assert sign_in(client, server.url).json()["hello"]["mfa"] == {"methods": [], "enrol": True}
    offer = post(client, "mfa/enrol/webauthn", step="begin").json()
    assert offer["options"]["rp"]["id"] == "127.0.0.1"
    done = post(
        client, "mfa/enrol/webauthn", step="finish", credential=key.create(offer["options"])
    )
    assert done.json()["success"] is True, done.text
    assert len(done.json()["recovery_codes"]) == 10
    return key


def passkey_sign_in(client: httpx.Client, key: SoftAuthenticator, **forged: Any) -> httpx.Response:
    options = post(client, "passkey", step="begin").json()["options"]
    return post(client, "passkey", step="finish", credential=key.get(options, **forged))


def test_a_passkey_set_up_at_sign_in_then_signs_in_without_a_password(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    first = client_of(server)
    key = enrol_passkey(server, first)
    assert amr_of(server, first, clock) == ["pwd", "pop", "user", "mfa"]

    client = client_of(server)
    unverified = passkey_sign_in(client, key, verified=False)
    assert unverified.json() == {"success": False, "state": "s1", "error": "wrong"}
    assert "KKT" not in cookie_names(unverified)
    signed_in = passkey_sign_in(client, key)
    assert signed_in.json() == {"success": True, "state": "s1", "hello": None}
    assert "KKT" in cookie_names(signed_in)
    assert amr_of(server, client, clock) == ["pop", "user", "mfa"]


def test_a_passkey_answer_is_used_once_and_needs_its_challenge(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server()
    key = enrol_passkey(server, client_of(server))
    client = client_of(server)
    options = post(client, "passkey", step="begin").json()["options"]
    answer = key.get(options)
    assert post(client, "passkey", step="finish", credential=answer).json()["success"] is True
    replayed = post(client_of(server), "passkey", step="finish", credential=answer)
    assert replayed.json()["success"] is False
    bad = post(client, "passkey", step="finish", credential="nope")
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_request"


def test_password_and_security_key(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    key = enrol_passkey(server, client_of(server))
    client = client_of(server)
    asked = sign_in(client, server.url).json()["hello"]["mfa"]
    assert asked == {"methods": ["webauthn", "recovery"], "enrol": False}
    options = post(client, "mfa/webauthn", step="begin").json()["options"]
    assert options["userVerification"] == "discouraged"
    other = SoftAuthenticator(rp_id="127.0.0.1", origin="http://localhost:1")
    wrong = post(client, "mfa/webauthn", step="finish", credential=other.get(options))
    assert wrong.json()["error"] == "wrong"
    options = post(client, "mfa/webauthn", step="begin").json()["options"]
    done = post(client, "mfa/webauthn", step="finish", credential=key.get(options, verified=False))
    assert done.json()["success"] is True, done.text
    assert amr_of(server, client, clock) == ["pwd", "pop", "user", "mfa"]


def test_webauthn_is_not_offered_when_mfa_methods_leave_it_out(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(mfa_methods=("totp", "recovery"))
    client = client_of(server)
    assert post(client, "passkey", step="begin").status_code in (404, 405)
    assert post(client, "mfa/webauthn", step="begin").status_code in (404, 405)
    assert post(client, "mfa/enrol/webauthn", step="begin").status_code in (404, 405)


def test_a_challenge_older_than_five_minutes_is_refused(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    key = enrol_passkey(server, client_of(server))
    client = client_of(server)
    options = post(client, "passkey", step="begin").json()["options"]
    assert options["timeout"] == 300_000
    clock.advance(301)
    late = post(client, "passkey", step="finish", credential=key.get(options))
    assert late.json()["success"] is False
    assert passkey_sign_in(client, key).json()["success"] is True


def test_configured_rp_id_and_origins_are_the_only_ones_accepted(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(webauthn_origins=("https://login.example.com",))
    client = client_of(server)
    sign_in(client, server.url)
    offer = post(client, "mfa/enrol/webauthn", step="begin").json()["options"]
    from_issuer = SoftAuthenticator(rp_id="127.0.0.1", origin=server.url).create(offer)
    refused = post(client, "mfa/enrol/webauthn", step="finish", credential=from_issuer)
    assert refused.json()["error"] == "wrong"
    offer = post(client, "mfa/enrol/webauthn", step="begin").json()["options"]
    key = SoftAuthenticator(rp_id="127.0.0.1", origin="https://login.example.com")
    done = post(client, "mfa/enrol/webauthn", step="finish", credential=key.create(offer))
    assert done.json()["success"] is True


MALFORMED: list[Any] = [
    None,
    [],
    {"id": "x"},
    {"id": "x", "response": {}},
    {"id": 5, "rawId": None, "response": {"clientDataJSON": 7}},
    {"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": "!!"}},
    {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "clientDataJSON": "e30",
            "authenticatorData": "AAAA",
            "signature": "AAAA",
            "attestationObject": "oA",
            "userHandle": "AAAA",
        },
    },
]


def test_malformed_credentials_are_refused_without_a_server_error(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server()
    enrolling = client_of(server)
    sign_in(enrolling, server.url)
    post(enrolling, "mfa/enrol/webauthn", step="begin")
    for credential in MALFORMED:
        answer = post(enrolling, "mfa/enrol/webauthn", step="finish", credential=credential)
        assert answer.status_code == 400 or answer.json()["error"] == "wrong", answer.text
    key = enrol_passkey(server, client_of(server))
    client = client_of(server)
    sign_in(client, server.url)
    for op in ("passkey", "mfa/webauthn"):
        post(client, op, step="begin")
        for credential in MALFORMED:
            answer = post(client, op, step="finish", credential=credential)
            assert answer.status_code in (200, 400), (op, credential, answer.text)
            assert answer.status_code == 400 or answer.json()["success"] is False
        assert post(client, op, step="later").json()["error"] == "invalid_request"
    # Five wrong answers burnt the pending sign-in; the passkey still signs in.
    assert passkey_sign_in(client_of(server), key).json()["success"] is True


def test_a_passkey_sign_in_satisfies_a_client_that_requires_mfa(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server()
    key = enrol_passkey(server, client_of(server))
    client = client_of(server)
    assert passkey_sign_in(client, key).json()["success"] is True
    assert "code" in silent(client, client_id="mfa-app")
    assert "mfa" not in post(client, "hello").json()  # no second step asked for
