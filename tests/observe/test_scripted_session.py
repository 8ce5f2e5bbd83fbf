"""A scripted session against a real konnectd: the audit log holds exactly the expected
events, the metrics count them, and no log line carries a password, token, code or secret,
even at debug level."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import PASSWORD, api_headers, browser, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.observe.konnectd import Konnectd, konnectd

AUTHORIZE = "/signin/v1/identifier/_/authorize"
TOKEN = "/konnect/v1/token"
CLIENT = {"client_id": "untrusted-app", "redirect_uri": "https://rp.example.com/cb"}
SECRET = "untrusted-secret"
# A replayed refresh token is refused at once, not answered again for a minute.
NO_REUSE_GRACE = ("--refresh-token-reuse-interval", "0")
SCOPE = "openid profile offline_access"
EXPECTED_EVENTS = [
    "sign_in_failed",
    "sign_in",
    "consent_given",
    "token_issued",
    "token_issued",
    "token_reuse",
    "grant_revoked",
    "sign_out",
]


def wrong_password(client: httpx.Client, base: str) -> httpx.Response:
    body = {"state": "s0", "params": ["jonas", "not the password", "1"], "hello": None}
    return client.post("/signin/v1/identifier/_/logon", json=body, headers=api_headers(base))


def consent(client: httpx.Client, base: str) -> httpx.Response:
    body = {"state": "c1", "allow": True, "scope": SCOPE, "ref": "st", "flow_nonce": "nc"}
    return client.post(
        "/signin/v1/identifier/_/consent", json={**body, **CLIENT}, headers=api_headers(base)
    )


def token(base: str, data: dict[str, str]) -> httpx.Response:
    return httpx.post(base + TOKEN, data=data, auth=(CLIENT["client_id"], SECRET))


def run_session(server: Konnectd) -> tuple[list[str], list[str]]:
    """The scripted session; the secrets it saw and the request ids of its answers."""
    params = good_params(scope=SCOPE, **CLIENT)
    request_ids = []
    with browser(server.url) as client:
        # no trusted proxy: the audit log must not believe this
        client.headers["X-Forwarded-For"] = "203.0.113.9"
        failed = wrong_password(client, server.url)
        assert failed.status_code == 204
        signed_in = sign_in(client, server.url)
        assert signed_in.status_code == 200
        assert client.get(AUTHORIZE + "?" + urlencode(params)).status_code == 302
        consented = consent(client, server.url)
        assert consented.status_code == 200
        done = client.get(AUTHORIZE + "?" + urlencode({**params, "konnect": "c1"}))
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
        first = token(server.url, code_request(code, redirect_uri=CLIENT["redirect_uri"]))
        assert first.status_code == 200, first.text
        tokens = first.json()
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        second = token(server.url, refresh)
        assert second.status_code == 200, second.text
        time.sleep(0.01)  # rotation times are kept to the millisecond
        replay = token(server.url, refresh)
        assert replay.json()["error"] == "invalid_grant"
        logoff = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "l1"}, headers=api_headers(server.url)
        )
        assert logoff.status_code == 200
        answers = (failed, signed_in, consented, first, second, replay, replay, logoff)
        request_ids = [answer.headers["x-request-id"] for answer in answers]
        cookies = [value for value in client.cookies.values() if len(value) > 16]
    secrets = [PASSWORD, SECRET, code, *tokens.values(), *second.json().values(), *cookies]
    secrets = [value for value in secrets if isinstance(value, str) and len(value) > 16]
    return secrets, request_ids


def test_the_audit_log_holds_the_session_and_no_log_line_a_secret(
    key_dir: Path, config_dir: Path
) -> None:
    with konnectd(key_dir, config_dir, *NO_REUSE_GRACE) as server:
        secrets, request_ids = run_session(server)
        events = server.audit_events()
    assert [event["event"] for event in events] == EXPECTED_EVENTS
    assert [event["request_id"] for event in events] == request_ids
    assert {event["client_ip"] for event in events} == {"127.0.0.1"}
    assert {event.get("user") for event in events} == {"jonas"}
    failure, _, given, issued, refreshed, reuse, revoked, _ = events
    assert failure["reason"] == "wrong_credentials"
    assert given["scopes"] == sorted(SCOPE.split())
    assert issued["grant_type"] == "authorization_code"
    assert issued["client_id"] == "untrusted-app"
    assert refreshed["grant_type"] == "refresh_token"
    assert reuse["kind"] == "refresh_token"
    assert revoked["reason"] == "refresh_token reused"

    logs = server.log_text()
    # the warning about the replay carries the request id of its error answer
    assert (
        f"refresh token reused by client untrusted-app: grant revoked request_id={request_ids[5]}"
        in logs
    )
    audit = server.audit_file.read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in logs
        assert secret not in audit


def test_metrics_count_the_session(key_dir: Path, config_dir: Path) -> None:
    with konnectd(key_dir, config_dir, *NO_REUSE_GRACE) as server:
        run_session(server)
        backend = {"backend": "usersfile"}
        assert server.metric("konnect_sign_ins_total", **backend, outcome="success") == 1
        assert server.metric("konnect_sign_ins_total", **backend, outcome="wrong_credentials") == 1
        tokens = {"client": "untrusted-app", "alg": "PS256"}
        issued = "konnect_tokens_issued_total"
        assert server.metric(issued, grant_type="authorization_code", **tokens) == 1
        assert server.metric(issued, grant_type="refresh_token", **tokens) == 1
        assert server.metric("konnect_token_reuse_detected_total", kind="refresh_token") == 1
        requests = "konnect_http_requests_total"
        token_route = {"route": TOKEN, "method": "POST"}
        assert server.metric(requests, **token_route, status="200") == 2
        assert server.metric(requests, **token_route, status="400") == 1
        latency = "konnect_http_request_duration_seconds_count"
        assert server.metric(latency, **token_route) == 3
        assert server.metric("konnect_signing_duration_seconds_count", alg="PS256") >= 2
        assert (
            server.metric("konnect_backend_duration_seconds_count", **backend, operation="logon")
            == 2
        )
        lookups = {**backend, "operation": "lookup"}
        # two authorizations of the signed-in browser and two refreshes re-read the user
        assert server.metric("konnect_backend_duration_seconds_count", **lookups) == 4
        store = "konnect_state_store_duration_seconds_count"
        assert server.metric(store, operation="swap") >= 1  # the refresh token's rotation
        assert server.metric("process_resident_memory_bytes") > 0
        # the public listener does not serve them
        assert httpx.get(server.url + "/metrics").status_code == 404
        unmatched = {"route": "(unmatched)", "method": "GET", "status": "404"}
        assert server.metric(requests, **unmatched) == 1
        # made-up methods and URLs cannot add label values
        assert httpx.request("PROPFIND", server.url + "/dav/4711").status_code == 404
        assert server.metric(requests, **{**unmatched, "method": "other"}) == 1
