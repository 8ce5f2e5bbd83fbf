"""Multi-factor sign-in through the identifier API, the way the web app drives it: a pending
sign-in instead of the logon cookie, enrolment at sign-in, TOTP and recovery codes, failure
rules, step-up at the authorization endpoint, and nothing changed with MFA off."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from konnect.http.app import Overrides
from konnect.mfa.totp import totp_code
from tests.conftest import Clock, RunningServer, api_headers, audit_lines, browser, sign_in
from tests.flows.test_bad_input import AUTHORIZE, good_params
from tests.identity.test_cookie_backend import COOKIE, CookieApp
from tests.identity.test_cookie_backend import cookie_app as cookie_app

API = "/signin/v1/identifier/_/"
START = 1_700_000_000.0
MFA_CLIENT = """
  - id: mfa-app
    name: MFA App
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    mfa: required
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def mfa_server(
    server_factory: Callable[..., RunningServer], config_dir: Path, clock: Clock
) -> Callable[..., RunningServer]:
    registry = config_dir / "registry.yaml"
    registry.write_text(registry.read_text() + MFA_CLIENT)

    def start(**changes: object) -> RunningServer:
        return server_factory(Overrides(clock=clock), **{"mfa": "required", **changes})

    return start


@pytest.fixture
def client_of() -> Iterator[Callable[[RunningServer], httpx.Client]]:
    opened: list[httpx.Client] = []

    def open_client(server: RunningServer) -> httpx.Client:
        client = browser(server.url)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def post(client: httpx.Client, op: str, **body: Any) -> httpx.Response:
    return client.post(
        API + op, json={"state": "s1", **body}, headers=api_headers(str(client.base_url))
    )


def cookie_names(response: httpx.Response) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")}


def awaiting_code(server: RunningServer, client_of: Callable[..., httpx.Client]) -> httpx.Client:
    """A browser whose password was right and whose second factor is asked for."""
    client = client_of(server)
    asked = sign_in(client, server.url)
    assert "mfa" in asked.json()["hello"], asked.text
    return client


def copy_cookies(source: httpx.Client, target: httpx.Client) -> httpx.Client:
    """`target` holding the same cookies as `source` (copied by an attacker, say)."""
    for cookie in source.cookies.jar:
        target.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
    return target


def seed_of(offer: dict[str, Any]) -> bytes:
    return base64.b32decode(offer["key"] + "=" * (-len(offer["key"]) % 8))


def enrol(client: httpx.Client, clock: Clock) -> tuple[bytes, list[str]]:
    """Sign in with the password and set up an authenticator app: its seed and the codes."""
    asked = sign_in(client, str(client.base_url))
    assert asked.json()["hello"]["mfa"] == {"methods": [], "enrol": True}
    offer = post(client, "mfa/enrol", step="begin").json()
    seed = seed_of(offer)
    assert offer["uri"].startswith("otpauth://totp/")
    assert "<svg" in offer["qr"]
    done = post(client, "mfa/enrol", step="confirm", code=totp_code(seed, clock.now))
    assert done.json()["success"] is True, done.text
    return seed, done.json()["recovery_codes"]


def silent(client: httpx.Client, **changes: str) -> dict[str, str]:
    response = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none", **changes)))
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def test_mfa_off_changes_nothing(server: RunningServer) -> None:
    with browser(server.url) as client:
        response = sign_in(client, server.url)
        assert response.json() == {"success": True, "state": "s1", "hello": None}
        assert "KKT" in cookie_names(response)
        assert "KKMFA" not in cookie_names(response)
        assert post(client, "mfa", method="totp", code="123456").status_code in (404, 405)
        assert "code" in silent(client)


def test_a_right_password_gives_a_pending_sign_in_not_a_logon(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server()
    client = client_of(server)
    response = sign_in(client, server.url)
    assert response.status_code == 200
    assert response.json()["hello"]["mfa"] == {"methods": [], "enrol": True}
    assert "KKT" not in cookie_names(response)
    assert "KKMFA" in cookie_names(response)
    assert silent(client)["error"] == "login_required"


def test_enrolment_stores_the_seed_only_after_a_valid_code(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    first = awaiting_code(server, client_of)
    offer = post(first, "mfa/enrol", step="begin").json()
    assert len(offer["key"]) == 32  # 20 bytes in base32
    wrong = post(first, "mfa/enrol", step="confirm", code="000000")
    assert wrong.json() == {"success": False, "state": "s1", "error": "wrong"}
    # Nothing was stored: another sign-in is still asked to set a factor up.
    other = client_of(server)
    assert sign_in(other, server.url).json()["hello"]["mfa"]["enrol"] is True
    _seed, codes = enrol(other, clock)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert "code" in silent(other)
    # The first browser's offer was never confirmed; now that the user has a factor, it
    # cannot add another without giving that one first.
    first_seed = seed_of(offer)
    late = post(first, "mfa/enrol", step="confirm", code=totp_code(first_seed, clock.now))
    assert late.json() == {"success": False, "state": "s1", "error": "expired"}


def test_an_offered_seed_is_stored_once(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    client = awaiting_code(server, client_of)
    offer = post(client, "mfa/enrol", step="begin").json()
    seed = seed_of(offer)
    copied = copy_cookies(client, client_of(server))
    assert post(client, "mfa/enrol", step="confirm", code=totp_code(seed, clock.now)).json()[
        "success"
    ]
    again = post(copied, "mfa/enrol", step="confirm", code=totp_code(seed, clock.now))
    assert again.json()["success"] is False


def test_password_and_totp_each_step_once(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    seed, _ = enrol(client_of(server), clock)
    client = client_of(server)
    asked = sign_in(client, server.url).json()["hello"]["mfa"]
    assert asked == {"methods": ["totp", "recovery"], "enrol": False}
    # The enrolment used this step: the same code again is a replay.
    replay = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert replay.json()["error"] == "wrong"
    clock.advance(30)
    accepted = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert accepted.json()["success"] is True
    assert "KKT" in cookie_names(accepted)
    assert "KKMFA" in cookie_names(accepted)  # deleted
    assert "code" in silent(client, client_id="mfa-app")
    # An older step than one accepted is refused too.
    other = awaiting_code(server, client_of)
    older = post(other, "mfa", method="totp", code=totp_code(seed, clock.now - 30))
    assert older.json()["error"] == "wrong"


def test_a_recovery_code_signs_in_once(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    _, codes = enrol(client_of(server), clock)
    client = awaiting_code(server, client_of)
    used = post(client, "mfa", method="recovery", code=codes[3].upper().replace("-", " "))
    assert used.json()["success"] is True
    again = awaiting_code(server, client_of)
    assert post(again, "mfa", method="recovery", code=codes[3]).json()["error"] == "wrong"
    assert post(again, "mfa", method="recovery", code=codes[4]).json()["success"] is True


def test_five_wrong_answers_burn_the_pending_sign_in(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    seed, _ = enrol(client_of(server), clock)
    clock.advance(60)
    client = awaiting_code(server, client_of)
    errors = [post(client, "mfa", method="totp", code="000000").json()["error"] for _ in range(5)]
    assert errors == ["wrong"] * 4 + ["burned"]
    late = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert late.json()["error"] == "expired"


def test_ten_wrong_answers_in_fifteen_minutes_answer_429(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    seed, _ = enrol(client_of(server), clock)
    clock.advance(60)
    statuses = []
    for _ in range(3):
        client = awaiting_code(server, client_of)
        for _ in range(4):
            statuses.append(post(client, "mfa", method="totp", code="000000").status_code)
    assert statuses == [200] * 10 + [429] * 2
    client = awaiting_code(server, client_of)
    assert post(client, "mfa", method="totp", code=totp_code(seed, clock.now)).status_code == 429


def test_the_pending_sign_in_lasts_five_minutes(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    seed, _ = enrol(client_of(server), clock)
    client = awaiting_code(server, client_of)
    clock.advance(301)
    late = post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert late.json() == {"success": False, "state": "s1", "error": "expired"}


def test_step_up_for_a_client_that_requires_mfa(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert "KKT" in cookie_names(sign_in(client, server.url))  # no factor, not required
    assert "code" in silent(client)
    assert silent(client, client_id="mfa-app")["error"] == "interaction_required"
    interactive = client.get(AUTHORIZE + "?" + urlencode(good_params(client_id="mfa-app")))
    assert interactive.status_code == 302
    assert "/signin/v1/identifier" in interactive.headers["location"]
    hello = {"flow": "oidc", "client_id": "mfa-app", "redirect_uri": good_params()["redirect_uri"]}
    stepped = post(client, "hello", **hello).json()
    assert stepped["mfa"] == {"methods": [], "enrol": True}
    offer = post(client, "mfa/enrol", step="begin").json()
    seed = seed_of(offer)
    done = post(
        client,
        "mfa/enrol",
        step="confirm",
        code=totp_code(seed, clock.now),
        hello={"state": "h", **hello},
    )
    assert done.json()["success"] is True
    assert "continue_uri" in done.json()["hello"]
    assert "code" in silent(client, client_id="mfa-app")


def test_a_second_factor_is_asked_again_after_mfa_max_age(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa_max_age=600)
    client = client_of(server)
    seed, _ = enrol(client, clock)
    assert "code" in silent(client)
    clock.advance(601)
    assert silent(client)["error"] == "interaction_required"
    stepped = post(client, "hello").json()
    assert stepped["mfa"]["methods"] == ["totp", "recovery"]
    assert post(client, "mfa", method="totp", code=totp_code(seed, clock.now)).json()["success"]
    assert "code" in silent(client)


def test_users_with_a_factor_give_it_when_mfa_is_optional(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server(mfa="optional")
    client = client_of(server)
    assert "KKT" in cookie_names(sign_in(client, server.url))
    post(
        client,
        "hello",
        flow="oidc",
        client_id="mfa-app",
        redirect_uri=good_params()["redirect_uri"],
    )
    offer = post(client, "mfa/enrol", step="begin").json()
    seed = seed_of(offer)
    assert post(client, "mfa/enrol", step="confirm", code=totp_code(seed, clock.now)).json()[
        "success"
    ]
    other = client_of(server)
    assert sign_in(other, server.url).json()["hello"]["mfa"]["methods"] == ["totp", "recovery"]


def test_admin_only_enrolment_refuses_users_without_a_factor(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(mfa_enrolment="admin_only")
    client = client_of(server)
    response = sign_in(client, server.url)
    assert response.json()["error"] == "access_denied"
    assert "KKT" not in cookie_names(response)


def test_a_group_can_require_mfa(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    optional = mfa_server(mfa="optional", mfa_required_groups=("staff",))
    assert sign_in(client_of(optional), optional.url).json()["hello"]["mfa"]["enrol"] is True


def test_a_pending_sign_in_completes_once(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client], clock: Clock
) -> None:
    server = mfa_server()
    seed, _ = enrol(client_of(server), clock)
    client = awaiting_code(server, client_of)
    copied = copy_cookies(client, client_of(server))
    clock.advance(30)
    assert post(client, "mfa", method="totp", code=totp_code(seed, clock.now)).json()["success"]
    clock.advance(30)
    replayed = post(copied, "mfa", method="totp", code=totp_code(seed, clock.now))
    assert replayed.json() == {"success": False, "state": "s1", "error": "expired"}


def forwarded_hello(client: httpx.Client) -> httpx.Response:
    headers = {**api_headers(str(client.base_url)), "X-Forwarded-User": "jonas"}
    return client.post(API + "hello", json={"state": "h1"}, headers=headers)


def test_a_proxy_sign_in_does_not_count_as_multi_factor(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(trusted_proxies=("127.0.0.0/8",), forwarded_user_sign_in=True)
    client = client_of(server)
    answer = forwarded_hello(client)
    assert answer.json()["mfa"] == {"methods": [], "enrol": True}
    assert "KKT" not in cookie_names(answer)
    assert silent(client)["error"] == "login_required"


def test_a_proxy_sign_in_counts_when_the_operator_says_so(
    mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client]
) -> None:
    server = mfa_server(
        trusted_proxies=("127.0.0.0/8",),
        forwarded_user_sign_in=True,
        mfa_satisfied_by=("forwarded_user",),
    )
    client = client_of(server)
    answer = forwarded_hello(client)
    assert "mfa" not in answer.json()
    assert "KKT" in cookie_names(answer)
    assert "code" in silent(client, client_id="mfa-app")


@pytest.mark.parametrize(
    ("satisfied_by", "expected"), [((), "access_denied"), (("cookie",), "code")]
)
def test_cookie_backend_sign_ins_count_only_when_the_operator_says_so(
    mfa_server: Callable[..., RunningServer],
    cookie_app: CookieApp,
    satisfied_by: tuple[str, ...],
    expected: str,
) -> None:
    server = mfa_server(
        identity_manager="cookie",
        identity_manager_args=(cookie_app.url + "/whoami", COOKIE),
        mfa_satisfied_by=satisfied_by,
    )
    with httpx.Client(base_url=server.url, cookies={COOKIE: "alice-key"}) as client:
        answer = client.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    answered = parse_qs(urlsplit(answer.headers["location"]).query)
    outcome = answered["error"][0] if "error" in answered else "code" * ("code" in answered)
    assert outcome == expected


def test_second_factor_answers_are_audited(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.log"
    server = mfa_server(audit_log=str(audit))
    seed, _ = enrol(client_of(server), clock)
    client = awaiting_code(server, client_of)
    post(client, "mfa", method="totp", code="000000")
    clock.advance(30)
    post(client, "mfa", method="totp", code=totp_code(seed, clock.now))
    events = [json.loads(line) for line in audit_lines(audit)]
    answered = [
        (event["event"], event["method"], event["reason"])
        for event in events
        if event["event"].startswith("second_factor")
    ]
    assert answered == [
        ("second_factor", "enrol", None),
        ("second_factor_failed", "totp", "wrong"),
        ("second_factor", "totp", None),
    ]
    assert all("000000" not in line for line in audit_lines(audit))
