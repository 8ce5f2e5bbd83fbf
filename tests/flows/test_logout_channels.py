"""Front-channel (iframes) and back-channel (signed logout tokens) logout on sign-out."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Page, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from konnect.clients import ClientRegistration
from konnect.oidc import logout_channels
from konnect.oidc.logout_channels import MAX_SESSION_CLIENTS, remember_client
from tests.conftest import RunningServer, api_headers, browser, free_port, sign_in
from tests.flows.test_bad_input import code_request, good_params
from tests.flows.test_end_session import signed_in

ENDSESSION = "/signin/v1/identifier/_/endsession"
AUTHORIZE = "/signin/v1/identifier/_/authorize"
RP = "http://127.0.0.1:9999/cb"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """A relying party's logout endpoints on a loopback port, recording what arrives."""

    def __init__(self) -> None:
        self.tokens: dict[str, list[str]] = {}
        self.frontchannel: list[str] = []
        self.statuses: dict[str, list[int]] = {"/flaky": [500, 503]}
        self.delay = 0.0

        async def backchannel(request: Request) -> Response:
            form = parse_qs((await request.body()).decode())
            self.tokens.setdefault(request.url.path, []).append(form["logout_token"][0])
            if request.url.path == "/slow":
                await asyncio.sleep(self.delay)
            planned = self.statuses.get(request.url.path)
            status = planned.pop(0) if planned else 200
            return Response(b"", status, headers={"Cache-Control": "no-store"})

        async def frontchannel(request: Request) -> Response:
            self.frontchannel.append(str(request.url))
            return Response(b"<!doctype html><title>signed out</title>", media_type="text/html")

        routes = [Route(path, backchannel, methods=["POST"]) for path in ("/bc", "/flaky", "/slow")]
        routes.append(Route("/fc", frontchannel, methods=["GET"]))
        self.server = RunningServer(Starlette(routes=routes), free_port())
        self.server.start()
        self.url = self.server.url

    def wait_for(self, path: str, count: int = 1, timeout: float = 10) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.tokens.get(path, [])) < count:
            assert time.monotonic() < deadline, f"{path} got {self.tokens.get(path)}"
            time.sleep(0.02)
        return self.tokens[path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    host = Receiver()
    yield host
    host.server.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logout_channels, "RETRY_DELAYS", (0.05, 0.1))


def _entry(client_id: str, trusted: str = "yes", **keys: str) -> str:
    extra = "".join(f"\n    {name}: {value}" for name, value in keys.items())
    return f"""
  - id: {client_id}
    secret: {client_id}-secret
    trusted: {trusted}
    application_type: native
    redirect_uris: [{RP}]{extra}"""


@pytest.fixture
def server(
    server_factory: Callable[..., RunningServer], tmp_path: Path, receiver: Receiver
) -> RunningServer:
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    registry = tmp_path / "logout-registry.yaml"
    registry.write_text(
        "clients:"
        + _entry(
            "fc-app",
            frontchannel_logout_uri=f"{receiver.url}/fc?tenant=a",
            frontchannel_logout_session_required="yes",
        )
        + _entry(
            "bc-app",
            backchannel_logout_uri=f"{receiver.url}/bc",
            backchannel_logout_session_required="yes",
            id_token_signed_response_alg="RS256",
        )
        + _entry("flaky-app", backchannel_logout_uri=f"{receiver.url}/flaky")
        + _entry("slow-app", backchannel_logout_uri=f"{receiver.url}/slow")
        + _entry("dead-app", backchannel_logout_uri=dead)
        + _entry("plain-app")
        + _entry("asking-app", trusted="no", frontchannel_logout_uri=f"{receiver.url}/fc")
        + "\n"
    )
    return server_factory(identifier_registration_conf=registry)


def authorized(client: httpx.Client, server: RunningServer, client_id: str) -> dict[str, Any]:
    """Authorize `client_id` in this browser and redeem the code: its token response."""
    params = good_params(client_id=client_id, prompt="none")
    response = client.get(AUTHORIZE + "?" + urlencode(params))
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=(client_id, f"{client_id}-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def verified(server: RunningServer, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = KeySet.import_key_set(httpx.get(server.url + "/konnect/v1/jwks.json").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256", "PS256"])
    return dict(decoded.header), dict(decoded.claims)


def end_session(client: httpx.Client, id_token: str) -> httpx.Response:
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": RP, "state": "bye"}
    return client.get(ENDSESSION + "?" + urlencode(query))


def test_discovery_advertises_both_channels(server: RunningServer) -> None:
    document = httpx.get(server.url + "/.well-known/openid-configuration").json()
    for name in (
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ):
        assert document[name] is True


def test_front_and_back_channel_on_end_session(server: RunningServer, receiver: Receiver) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "fc-app")
        tokens = authorized(client, server, "bc-app")
        authorized(client, server, "plain-app")
        _, id_claims = verified(server, tokens["id_token"])
        response = end_session(client, tokens["id_token"])
        assert response.status_code == 200, response.text
        assert not signed_in(client, server.url)

    # the front channel: one iframe for fc-app with iss and sid, then on to the client
    frames = re.findall(r'<iframe hidden src="([^"]+)"', response.text)
    assert len(frames) == 1
    frame = urlsplit(html.unescape(frames[0]))
    assert f"{frame.scheme}://{frame.netloc}{frame.path}" == receiver.url + "/fc"
    assert parse_qs(frame.query) == {
        "tenant": ["a"],
        "iss": [server.url],
        "sid": [id_claims["sid"]],
    }
    assert f'data-next="{html.escape(RP + "?state=bye")}"' in response.text
    csp = response.headers["content-security-policy"]
    assert f"frame-src {receiver.url};" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert "frame-ancestors 'none'" in csp

    # the back channel: a signed logout token for bc-app's session
    [token] = receiver.wait_for("/bc")
    header, claims = verified(server, token)
    assert header["typ"] == "logout+jwt"
    assert header["alg"] == "RS256"
    assert claims["iss"] == server.url
    assert claims["aud"] == "bc-app"
    assert claims["sid"] == id_claims["sid"]
    assert claims["sub"] == id_claims["sub"]
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_without_front_channel_clients_end_session_still_redirects(
    server: RunningServer, receiver: Receiver
) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        tokens = authorized(client, server, "bc-app")
        response = end_session(client, tokens["id_token"])
    assert response.status_code == 302
    assert response.headers["location"] == RP + "?state=bye"
    assert len(receiver.wait_for("/bc")) == 1


def test_clients_of_other_sessions_are_not_told(server: RunningServer, receiver: Receiver) -> None:
    with browser(server.url) as first, browser(server.url) as second:
        assert sign_in(first, server.url).status_code == 200
        first_session = verified(server, authorized(first, server, "bc-app")["id_token"])[1]
        assert sign_in(second, server.url).status_code == 200
        tokens = authorized(second, server, "plain-app")
        assert end_session(second, tokens["id_token"]).status_code == 302
        # The first session ends after the second: its logout token is the first to arrive,
        # and a token wrongly sent for the second session would have come before it.
        tokens = authorized(first, server, "plain-app")
        assert end_session(first, tokens["id_token"]).status_code == 302
    [token] = receiver.wait_for("/bc")
    assert verified(server, token)[1]["sid"] == first_session["sid"]


def test_retries_then_a_log_line_for_a_client_that_does_not_answer(
    server: RunningServer, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="konnect")
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        for client_id in ("flaky-app", "dead-app"):
            tokens = authorized(client, server, client_id)
        assert end_session(client, tokens["id_token"]).status_code == 302
    assert len(receiver.wait_for("/flaky", 3)) == 3  # 500, 503, then 200
    deadline = time.monotonic() + 10
    while "dead-app" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.05)
    assert "failed after 3 attempt(s): unreachable" in caplog.text
    assert "flaky-app" not in caplog.text


def test_a_slow_client_does_not_hold_up_the_browser(
    server: RunningServer, receiver: Receiver
) -> None:
    receiver.delay = 3.0
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        tokens = authorized(client, server, "slow-app")
        started = time.monotonic()
        assert end_session(client, tokens["id_token"]).status_code == 302
        assert time.monotonic() - started < 1.5
    receiver.wait_for("/slow")


def register(server: RunningServer, receiver: Receiver, **extra: object) -> dict[str, Any]:
    registration = httpx.post(
        server.url + "/konnect/v1/register",
        json={
            "redirect_uris": [RP],
            "application_type": "native",
            "backchannel_logout_uri": receiver.url + "/bc",
            "backchannel_logout_session_required": True,
            "frontchannel_logout_uri": receiver.url + "/fc",
            **extra,
        },
    )
    assert registration.status_code == 201, registration.text
    return dict(registration.json())


def dynamic_tokens(
    client: httpx.Client, server: RunningServer, registered: dict[str, Any]
) -> dict[str, Any]:
    """Consent to and authorize a dynamic client in this browser, and redeem its code."""
    client_id = registered["client_id"]
    consent = {
        "state": "c1",
        "allow": True,
        "scope": "openid",
        "client_id": client_id,
        "redirect_uri": RP,
        "ref": "st",
        "flow_nonce": "nc",
    }
    said = client.post(
        "/signin/v1/identifier/_/consent", json=consent, headers=api_headers(server.url)
    )
    assert said.status_code == 200
    params = good_params(client_id=client_id, scope="openid")
    done = client.get(AUTHORIZE + "?" + urlencode({**params, "konnect": "c1"}))
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    return dict(
        httpx.post(
            server.url + "/konnect/v1/token",
            data=code_request(code),
            auth=(client_id, registered["client_secret"]),
        ).json()
    )


def test_dynamic_clients_register_logout_channels(
    server_factory: Callable[..., RunningServer], receiver: Receiver
) -> None:
    server = server_factory(allow_dynamic_client_registration=True)
    body = register(server, receiver)
    assert body["backchannel_logout_session_required"] is True
    assert body["frontchannel_logout_session_required"] is False
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        tokens = dynamic_tokens(client, server, body)
        response = end_session(client, tokens["id_token"])
    assert response.status_code == 200
    assert "/fc?iss=" in response.text
    [token] = receiver.wait_for("/bc")
    assert verified(server, token)[1]["aud"] == body["client_id"]


def test_a_long_dynamic_client_id_does_not_silence_registered_clients(
    server: RunningServer,
    server_factory: Callable[..., RunningServer],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    registry = tmp_path / "logout-registry.yaml"  # written by the server fixture
    server = server_factory(
        identifier_registration_conf=registry, allow_dynamic_client_registration=True
    )
    noise = [f"http://127.0.0.1:9999/{secrets.token_hex(64)}" for _ in range(20)]
    bulky = register(server, receiver, redirect_uris=[RP, *noise])
    assert len(bulky["client_id"]) > 2048
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "bc-app")
        tokens = dynamic_tokens(client, server, bulky)
        assert end_session(client, tokens["id_token"]).status_code < 400
    audiences = [verified(server, token)[1]["aud"] for token in receiver.wait_for("/bc")]
    assert audiences == ["bc-app"]


def test_the_session_remembers_a_bounded_list_of_clients() -> None:
    clients: tuple[str, ...] = ()
    for number in range(MAX_SESSION_CLIENTS + 3):
        client = ClientRegistration(id=f"c{number}", backchannel_logout_uri="https://x/bc")
        clients = remember_client(clients, client)
    assert len(clients) == MAX_SESSION_CLIENTS
    assert clients[-1] == f"c{MAX_SESSION_CLIENTS + 2}"
    again = remember_client(clients, ClientRegistration(id=clients[0], frontchannel_logout_uri="x"))
    assert again[-1] == clients[0]
    assert len(again) == MAX_SESSION_CLIENTS
    assert remember_client(clients, ClientRegistration(id="quiet")) == clients
    long_ids: tuple[str, ...] = ()
    for number in range(5):
        big = ClientRegistration(id=f"dyn.{number}" + "x" * 900, backchannel_logout_uri="y")
        long_ids = remember_client(long_ids, big)
    assert sum(map(len, long_ids)) <= 2048
    assert long_ids[-1].startswith("dyn.4")
    assert json.dumps(long_ids)


def test_dynamic_clients_never_push_registered_ones_out() -> None:
    registered = tuple(f"app{number}" for number in range(MAX_SESSION_CLIENTS - 1))
    clients = registered
    for number in range(6):
        dynamic = ClientRegistration(id=f"dyn.{number}" + "x" * 40, frontchannel_logout_uri="y")
        clients = remember_client(clients, dynamic)
    huge = ClientRegistration(id="dyn.huge" + "x" * 4000, frontchannel_logout_uri="y")
    clients = remember_client(clients, huge)
    assert clients[: len(registered)] == registered
    assert len(clients) <= MAX_SESSION_CLIENTS


def test_signing_out_in_the_web_app_tells_both_channels(
    server: RunningServer, receiver: Receiver
) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "fc-app")
        tokens = authorized(client, server, "bc-app")
        answer = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "s"}, headers=api_headers(server.url)
        )
        assert answer.status_code == 200
        continue_uri = answer.json()["continue_uri"]
        assert continue_uri.startswith(server.url + "/signin/v1/identifier/_/logout-frames?t=")
        assert not signed_in(client, server.url)
        page = client.get(continue_uri)
    assert page.status_code == 200
    [frame] = re.findall(r'<iframe hidden src="([^"]+)"', page.text)
    sid = verified(server, tokens["id_token"])[1]["sid"]
    assert parse_qs(urlsplit(html.unescape(frame)).query)["sid"] == [sid]
    assert f'data-next="{server.url}/signin/v1/goodbye"' in page.text
    assert verified(server, receiver.wait_for("/bc")[0])[1]["sid"] == sid
    forged = httpx.get(server.url + "/signin/v1/identifier/_/logout-frames?t=forged")
    assert forged.status_code == 302
    assert forged.headers["location"] == server.url + "/signin/v1/goodbye"


def test_signing_out_without_logout_channels_answers_as_before(server: RunningServer) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "plain-app")
        answer = client.post(
            "/signin/v1/identifier/_/logoff", json={"state": "s"}, headers=api_headers(server.url)
        )
    assert answer.json() == {"success": True, "state": "s"}


def signed_in_cookies(server: RunningServer, *client_ids: str) -> tuple[list[Any], str]:
    """Sign in and authorize the clients with httpx; the browser cookies and an ID token."""
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        id_token = ""
        for client_id in client_ids:
            id_token = authorized(client, server, client_id)["id_token"]
        cookies = [
            {"name": c.name, "value": c.value or "", "domain": "127.0.0.1", "path": c.path}
            for c in client.cookies.jar
        ]
    return cookies, id_token


def in_chromium(
    cookies: list[Any], start: str, steps: Callable[[Page], None]
) -> tuple[list[str], float]:
    """Open `start` in Chromium with the cookies and run the steps: the console messages,
    and the seconds from opening `start` to the end of the steps."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        try:
            context = chromium.new_context(locale="en-US")
            context.add_cookies(cookies)
            page = context.new_page()
            messages: list[str] = []
            page.on("console", lambda message: messages.append(message.text))
            page.route(RP + "*", lambda route: route.fulfill(body="<title>rp</title>"))
            started = time.monotonic()
            page.goto(start)
            steps(page)
            seconds = time.monotonic() - started
        finally:
            chromium.close()
    return messages, seconds


def test_a_browser_loads_the_front_channel_frames_and_moves_on(
    server: RunningServer, receiver: Receiver
) -> None:
    cookies, id_token = signed_in_cookies(server, "fc-app", "plain-app")
    query = {"id_token_hint": id_token, "post_logout_redirect_uri": RP, "state": "bye"}
    messages, seconds = in_chromium(
        cookies,
        server.url + ENDSESSION + "?" + urlencode(query),
        lambda page: page.wait_for_url(RP + "?state=bye", timeout=10_000),
    )
    assert seconds < 2.5  # on as soon as the frame loaded, not after the 3 s timeout
    assert len(receiver.frontchannel) == 1
    assert "sid=" in receiver.frontchannel[0]
    assert messages == []


def test_a_browser_confirms_on_the_goodbye_page_and_returns_to_the_client(
    server: RunningServer, receiver: Receiver
) -> None:
    cookies, _ = signed_in_cookies(server, "fc-app")
    query = {"client_id": "asking-app", "post_logout_redirect_uri": RP, "state": "bye"}

    def confirm(page: Page) -> None:
        page.locator("#goodbye-signout").click()
        page.wait_for_url(RP + "?state=bye", timeout=10_000)

    messages, _ = in_chromium(cookies, server.url + ENDSESSION + "?" + urlencode(query), confirm)
    assert len(receiver.frontchannel) == 1
    assert messages == []


def test_a_confirmed_sign_out_returns_to_the_client_that_asked(
    server: RunningServer, receiver: Receiver
) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "fc-app")
        query = {"client_id": "asking-app", "post_logout_redirect_uri": RP, "state": "bye"}
        asked = client.get(ENDSESSION + "?" + urlencode(query))
        goodbye = urlsplit(asked.headers["location"])
        assert goodbye.path == "/signin/v1/goodbye"
        logout = parse_qs(goodbye.query)["logout"][0]
        assert signed_in(client, server.url)  # nothing ends before the user confirms
        forged = client.post(
            "/signin/v1/identifier/_/logoff",
            json={"state": "s", "logout": logout[:-4] + "AAAA"},
            headers=api_headers(server.url),
        )
        # a forged way back is ignored; the front channel still runs, then the goodbye page
        page = client.get(forged.json()["continue_uri"])
        assert f'data-next="{server.url}/signin/v1/goodbye"' in page.text
        assert sign_in(client, server.url).status_code == 200
        authorized(client, server, "fc-app")
        confirmed = client.post(
            "/signin/v1/identifier/_/logoff",
            json={"state": "s", "logout": logout},
            headers=api_headers(server.url),
        )
        page = client.get(confirmed.json()["continue_uri"])
    assert f'data-next="{html.escape(RP + "?state=bye")}"' in page.text
    assert len(re.findall("<iframe", page.text)) == 1


def test_a_confirmed_sign_out_without_channels_goes_straight_back(
    server: RunningServer,
) -> None:
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        query = {"client_id": "asking-app", "post_logout_redirect_uri": RP}
        asked = client.get(ENDSESSION + "?" + urlencode(query))
        logout = parse_qs(urlsplit(asked.headers["location"]).query)["logout"][0]
        confirmed = client.post(
            "/signin/v1/identifier/_/logoff",
            json={"state": "s", "logout": logout},
            headers=api_headers(server.url),
        )
        assert not signed_in(client, server.url)
    assert confirmed.json()["continue_uri"] == RP
