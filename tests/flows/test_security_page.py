"""The security page through the identifier API, as the web app drives it: a signed-in user
lists, names, adds and removes factors and renews recovery codes; each change needs a second
factor from the last five minutes (a step-up otherwise), the last factor stays while the
policy requires one, and every change is audited."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from konnect.mfa.totp import totp_code
from tests.conftest import Clock, PostgresServer, RunningServer, audit_lines, browser, sign_in
from tests.flows.test_mfa_signin import (
    awaiting_code,
    cookie_names,
    enrol,
    post,
    seed_of,
)
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import mfa_server as mfa_server
from tests.mfa.soft_authenticator import SoftAuthenticator

PAGE = "/signin/v1/identifier/security"


def overview(client: httpx.Client) -> dict[str, Any]:
    answer = post(client, "security")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def add_app(client: httpx.Client, clock: Clock, name: str = "") -> tuple[bytes, httpx.Response]:
    """Add an authenticator app on the security page: its seed and the confirming answer."""
    offer = post(client, "security/totp", step="begin").json()
    assert offer["success"] is True, offer
    seed = seed_of(offer)
    done = post(client, "security/totp", step="confirm", code=totp_code(seed, clock.now), name=name)
    return seed, done


def step_up(client: httpx.Client, seed: bytes, clock: Clock) -> None:
    """Answer the second step the security page asked for, with the next TOTP step."""
    clock.advance(30)
    answered = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert answered.json()["success"] is True, answered.text


def signed_in_with_app(
    server: RunningServer, client_of: Callable[..., httpx.Client], clock: Clock
) -> tuple[httpx.Client, bytes, list[str]]:
    """A browser signed in with password and an authenticator app set up at sign-in."""
    client = client_of(server)
    seed, codes = enrol(client, clock)
    return client, seed, codes


def signed_in_optional(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> tuple[RunningServer, httpx.Client]:
    """A server at `mfa = optional` and a browser signed in there with the password alone."""
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert sign_in(client, server.url).json()["hello"] is None
    return server, client


def test_mfa_off_has_no_security_page(server: RunningServer) -> None:
    with browser(server.url) as client:
        sign_in(client, server.url)
        assert client.get(PAGE).status_code == 404
        assert post(client, "security").status_code in (404, 405)
        assert post(client, "security/remove", kind="totp", id="x").status_code in (404, 405)


def test_the_page_is_served_and_asks_a_browser_to_sign_in_first(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert client.get(PAGE).status_code == 200
    answer = post(client, "security")
    assert answer.status_code == 204
    assert post(client, "security/recovery").status_code == 204
    refused = client.post("/signin/v1/identifier/_/security", json={"state": "s1"})
    assert refused.status_code == 400


def test_an_optional_user_adds_an_app_confirmed_by_a_valid_code(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert sign_in(client, server.url).json()["success"] is True
    assert overview(client)["factors"] == []
    offer = post(client, "security/totp", step="begin").json()
    wrong = post(client, "security/totp", step="confirm", code="000000", name="Phone")
    assert wrong.json() == {"state": "s1", "success": False, "error": "wrong"}
    assert overview(client)["factors"] == []
    seed = seed_of(offer)
    done = post(
        client, "security/totp", step="confirm", code=totp_code(seed, clock.now), name="Phone"
    )
    assert done.json()["success"] is True, done.text
    assert len(done.json()["recovery_codes"]) == 10
    page = overview(client)
    assert [(f["kind"], f["name"]) for f in page["factors"]] == [("totp", "Phone")]
    assert (page["recoveryCodes"], page["required"]) == (10, False)
    assert offer["key"] not in json.dumps(page)
    assert set(page["factors"][0]) == {"kind", "id", "name", "created", "lastUsed"}
    # The next sign-in asks for it.
    assert awaiting_code(server, client_of) is not None


def test_an_offered_key_is_stored_only_for_the_sign_in_it_was_offered_to(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server, client = signed_in_optional(mfa_server, client_of)
    seed, done = add_app(client, clock)
    assert done.json()["success"] is True
    clock.advance(30)
    # Another browser of the same user, signed in with both factors, cannot use this
    # browser's offer: it belongs to the sign-in it was made for.
    other = awaiting_code(server, client_of)
    step_up(other, seed, clock)
    for cookie in client.cookies.jar:
        if cookie.name == "KKMFAE":
            other.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
    stolen = post(other, "security/totp", step="confirm", code=totp_code(seed, clock.now + 30))
    assert stolen.json()["error"] == "expired"
    assert len(overview(client)["factors"]) == 1


def test_a_change_needs_a_second_factor_from_the_last_five_minutes(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    client, seed, _ = signed_in_with_app(server, client_of, clock)
    factor = overview(client)["factors"][0]
    assert overview(client)["fresh"] is True
    assert post(client, "security/rename", kind="totp", id=factor["id"], name="A").json()["success"]
    clock.advance(301)
    assert overview(client)["fresh"] is False
    asked = post(client, "security/rename", kind="totp", id=factor["id"], name="B")
    assert asked.json()["error"] == "stepup"
    assert asked.json()["mfa"] == {"methods": ["totp", "recovery"], "enrol": False}
    assert "KKMFA" in cookie_names(asked)
    for action, extra in (("remove", {"kind": "totp", "id": factor["id"]}), ("recovery", {})):
        assert post(client, "security/" + action, **extra).json()["error"] == "stepup"
    assert post(client, "security/totp", step="begin").json()["error"] == "stepup"
    assert overview(client)["factors"][0]["name"] == "A"
    # The step-up keeps the sign-in and makes it fresh again.
    step_up(client, seed, clock)
    renamed = post(
        client, "security/rename", kind="totp", id=factor["id"], name="B\x07 work  phone"
    )
    assert renamed.json()["success"] is True
    assert overview(client)["factors"][0]["name"] == "B work phone"


def test_the_last_factor_stays_while_the_policy_requires_one(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    client, _, _ = signed_in_with_app(server, client_of, clock)
    only = overview(client)["factors"][0]
    refused = post(client, "security/remove", kind="totp", id=only["id"])
    assert refused.json()["error"] == "protected"
    assert overview(client)["required"] is True
    _, added = add_app(client, clock, "Tablet")
    assert added.json() == {"state": "s1", "success": True, "recovery_codes": []}
    removed = post(client, "security/remove", kind="totp", id=only["id"])
    assert removed.json()["success"] is True
    left = overview(client)["factors"]
    assert [f["name"] for f in left] == ["Tablet"]
    assert post(client, "security/remove", kind="totp", id=left[0]["id"]).json()["error"] == (
        "protected"
    )
    assert post(client, "security/remove", kind="totp", id=only["id"]).json()["error"] == (
        "missing"
    )


def test_without_required_policy_the_last_factor_goes_with_its_codes(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server, client = signed_in_optional(mfa_server, client_of)
    seed, done = add_app(client, clock)
    assert done.json()["success"] is True
    factor = overview(client)["factors"][0]
    # The sign-in had no second factor: removing needs one now.
    asked = post(client, "security/remove", kind="totp", id=factor["id"])
    assert asked.json()["error"] == "stepup"
    step_up(client, seed, clock)
    assert post(client, "security/remove", kind="totp", id=factor["id"]).json()["success"]
    page = overview(client)
    assert (page["factors"], page["recoveryCodes"], page["required"]) == ([], 0, False)
    assert sign_in(client_of(server), server.url).json()["hello"] is None


def test_renewed_recovery_codes_replace_the_old_ones(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    client, _, old = signed_in_with_app(server, client_of, clock)
    renewed = post(client, "security/recovery").json()
    assert renewed["success"] is True
    new = renewed["recovery_codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    assert overview(client)["recoveryCodes"] == 10
    stale = awaiting_code(server, client_of)
    assert post(stale, "mfa", method="recovery", code=old[0]).json()["error"] == "wrong"
    assert post(stale, "mfa", method="recovery", code=new[0]).json()["success"] is True


def test_a_passkey_is_added_named_and_removed(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server, client = signed_in_optional(mfa_server, client_of)
    key = SoftAuthenticator(rp_id="127.0.0.1", origin=server.url)
    offer = post(client, "security/webauthn", step="begin").json()
    forged = key.create(offer["options"])
    forged["response"]["clientDataJSON"] = forged["response"]["clientDataJSON"][:-4] + "AAAA"
    assert (
        post(client, "security/webauthn", step="finish", credential=forged).json()["error"]
        == "wrong"
    )
    offer = post(client, "security/webauthn", step="begin").json()
    done = post(
        client,
        "security/webauthn",
        step="finish",
        credential=key.create(offer["options"]),
        name="Key",
    )
    assert done.json()["success"] is True, done.text
    assert len(done.json()["recovery_codes"]) == 10
    factor = overview(client)["factors"][0]
    assert (factor["kind"], factor["name"]) == ("webauthn", "Key")
    # The passkey signs in (fresh), and then it may be removed: the policy is optional.
    fresh = client_of(server)
    options = post(fresh, "passkey", step="begin").json()["options"]
    assert post(fresh, "passkey", step="finish", credential=key.get(options)).json()["success"]
    assert post(fresh, "security/remove", kind="webauthn", id=factor["id"]).json()["success"]
    left = overview(fresh)
    assert (left["factors"], left["recoveryCodes"]) == ([], 0)


def test_changes_are_audited(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.log"
    server = mfa_server(audit_log=str(audit))
    client, seed, _ = signed_in_with_app(server, client_of, clock)
    only = overview(client)["factors"][0]
    post(client, "security/remove", kind="totp", id=only["id"])
    post(client, "security/rename", kind="totp", id=only["id"], name="Phone")
    post(client, "security/recovery")
    clock.advance(301)
    post(client, "security/recovery")
    step_up(client, seed, clock)
    _, added = add_app(client, clock)
    assert added.json()["success"] is True
    post(client, "security/remove", kind="totp", id=only["id"])
    events = [json.loads(line) for line in audit_lines(audit)]
    changes = [
        (event["event"], event["kind"], event["reason"])
        for event in events
        if event["event"].startswith("factor_")
    ]
    assert changes == [
        ("factor_refused", "totp", "last_factor"),
        ("factor_renamed", "totp", None),
        ("factor_codes_renewed", "recovery", None),
        ("factor_refused", "recovery", "stepup"),
        ("factor_added", "totp", None),
        ("factor_removed", "totp", None),
    ]
    assert all(
        event.get("user") == "jonas" for event in events if event["event"].startswith("factor_")
    )


def test_wrong_confirmations_are_counted(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    _, client = signed_in_optional(mfa_server, client_of)
    post(client, "security/totp", step="begin")
    answers = [
        post(client, "security/totp", step="confirm", code="000000").json()["error"]
        for _ in range(6)
    ]
    # The fifth wrong code burns the offered key.
    assert answers == ["wrong"] * 4 + ["expired", "expired"]


def test_bad_input_is_refused_without_a_server_error(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    _, client = signed_in_optional(mfa_server, client_of)
    refused: list[tuple[str, dict[str, Any]]] = [
        ("security/rename", {"kind": 7, "id": "x", "name": "A"}),
        ("security/rename", {"kind": "totp", "id": ["x"], "name": "A"}),
        ("security/rename", {"kind": "totp", "id": "x", "name": "A" * 1000}),
        ("security/remove", {"kind": "totp", "id": None}),
        ("security/totp", {"step": "later"}),
        ("security/totp", {"step": "confirm", "code": 123456}),
        ("security/webauthn", {"step": "finish", "credential": "x"}),
        ("security/webauthn", {"step": "sideways"}),
    ]
    for op, body in refused:
        answer = post(client, op, **body)
        assert answer.status_code == 400, (op, body, answer.text)
        assert answer.json()["error"] == "invalid_request"
    for kind in ("recovery", "password", ""):
        missing = post(client, "security/remove", kind=kind, id="x").json()
        assert missing["error"] == "missing"


def test_a_group_that_requires_mfa_keeps_the_last_factor(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa="optional", mfa_required_groups=("staff",))
    client, _, _ = signed_in_with_app(server, client_of, clock)
    only = overview(client)["factors"][0]
    assert overview(client)["required"] is True
    assert post(client, "security/remove", kind="totp", id=only["id"]).json()["error"] == (
        "protected"
    )


def test_a_user_whose_factors_are_not_kept_here_is_told_so(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    config_dir: Path,
) -> None:
    _, client = signed_in_optional(mfa_server, client_of)
    users = config_dir / "users.yaml"
    users.write_text(users.read_text(encoding="utf-8").replace('"1001"', '"1009"'), "utf-8")
    time.sleep(1.05)  # past the users file's check interval
    answer = post(client, "security")
    assert answer.json() == {"state": "s1", "success": False, "error": "unavailable"}
    assert post(client, "security/totp", step="begin").json()["error"] == "unavailable"


def test_with_admin_only_enrolment_the_first_factor_is_not_added_here(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(mfa="optional", mfa_enrolment="admin_only")
    client = client_of(server)
    assert sign_in(client, server.url).json()["hello"] is None
    assert overview(client)["mayAdd"] is False
    for op, body in (
        ("security/totp", {"step": "begin"}),
        ("security/webauthn", {"step": "begin"}),
    ):
        assert post(client, op, **body).json()["error"] == "admin_only"
    assert overview(client)["factors"] == []


def test_a_database_outage_refuses_changes_until_it_is_back(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    private_postgres: PostgresServer,
) -> None:
    server = mfa_server(credential_store=private_postgres.new_database())
    client, _, _ = signed_in_with_app(server, client_of, clock)
    factor = overview(client)["factors"][0]
    private_postgres.stop()
    for op, body in (("security", {}), ("security/rename", {"kind": "totp", "id": factor["id"]})):
        refused = post(client, op, **body)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "temporarily_unavailable"
    private_postgres.start()
    deadline = time.monotonic() + 20
    while (
        answer := post(client, "security/rename", kind="totp", id=factor["id"], name="Phone")
    ).status_code == 503:
        assert time.monotonic() < deadline, "the security page did not recover"
        time.sleep(0.2)
    assert answer.json()["success"] is True
    assert overview(client)["factors"][0]["name"] == "Phone"
