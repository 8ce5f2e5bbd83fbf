"""Jitsi Meet's "I am the host" in Chromium: /jitsi/login, the sign-in page, the room."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.browser_kit import LANGUAGES, catalogue, sign_in
from tests.browser.conftest import OpenPage
from tests.conftest import RunningServer
from tests.jitsi.conftest import SECRET
from tests.jitsi.prosody_rules import Prosody, ProsodyConfig

JITSI_PAGE = b"<!doctype html><title>jitsi</title><p>meeting</p>"


class JitsiStandIn:
    """A loopback web server standing in for Jitsi Meet: records the rooms and tokens."""

    def __init__(self) -> None:
        visits: list[tuple[str, str]] = []  # (path, jwt)
        self.visits = visits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                visits.append((parts.path, parse_qs(parts.query).get("jwt", [""])[0]))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(JITSI_PAGE)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/meet"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JitsiStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jitsi() -> Iterator[JitsiStandIn]:
    with JitsiStandIn() as stand_in:
        yield stand_in


def test_host_signs_in_and_lands_in_the_room_with_a_token(
    server_factory: Callable[..., RunningServer],
    open_page: OpenPage,
    jitsi: JitsiStandIn,
    tmp_path: Path,
) -> None:
    (tmp_path / "meet.secret").write_bytes(SECRET)
    (tmp_path / "jitsi.yaml").write_text(
        "jitsi:\n"
        f"  - {{id: meet, url: '{jitsi.url}', app_id: konnect, secret_file: meet.secret,"
        " moderator_groups: [staff]}\n"
    )
    server = server_factory(jitsi_conf=tmp_path / "jitsi.yaml")
    page, watch = open_page(server)
    page.context.route(jitsi.url + "/**", lambda route: route.continue_())

    page.goto(server.url + "/jitsi/login?room=Team-Standup")
    expect(page.get_by_label("Username")).to_be_visible()
    sign_in(page)
    expect(page).to_have_title("jitsi")
    path, token = jitsi.visits[-1]
    assert path == "/meet/Team-Standup"
    prosody = Prosody(
        ProsodyConfig(app_id="konnect", app_secret=SECRET, accepted_issuers=(server.url,))
    )
    assert prosody.join(prosody.connect(token), "team-standup") == "owner"

    # Signed in already: straight to the room, no sign-in page on the way.
    seen = len(watch.requests)
    page.goto(server.url + "/jitsi/login?room=Retro")
    expect(page).to_have_title("jitsi")
    assert jitsi.visits[-1][0] == "/meet/Retro"
    pages = [urlsplit(request.url).path for request in watch.requests[seen:]]
    assert "/signin/v1/identifier" not in pages


def test_invitation_made_in_one_browser_lets_a_guest_join_from_another(
    server_factory: Callable[..., RunningServer],
    open_page: OpenPage,
    jitsi: JitsiStandIn,
    tmp_path: Path,
) -> None:
    (tmp_path / "meet.secret").write_bytes(SECRET)
    (tmp_path / "jitsi.yaml").write_text(
        f"jitsi:\n  - {{id: meet, url: '{jitsi.url}', app_id: konnect, secret_file: meet.secret}}\n"
    )
    server = server_factory(jitsi_conf=tmp_path / "jitsi.yaml")
    host, _ = open_page(server)
    host.goto(server.url + "/signin/v1/jitsi/invite")
    sign_in(host)
    expect(host.get_by_role("heading", name="Invite to a meeting")).to_be_visible()
    host.get_by_label("Room").fill("Board-Meeting")
    host.get_by_label("Invite as").select_option("guest")
    host.get_by_role("button", name="Create invitation").click()
    link = host.get_by_label("Invitation link")
    expect(link).to_have_value(re.compile(r"/signin/v1/jitsi/join#"))
    assert host.locator("#invite-ics").get_attribute("href").startswith("blob:")  # type: ignore[union-attr]

    guest, watch = open_page(server, locale="de-DE")
    guest.context.route(jitsi.url + "/**", lambda route: route.continue_())
    guest.goto(link.input_value())
    expect(guest.get_by_role("heading", name="An einer Besprechung teilnehmen")).to_be_visible()
    guest.get_by_label("Ihr Name").fill("Gustav Gast")
    guest.get_by_role("button", name="Teilnehmen").click()
    expect(guest).to_have_title("jitsi")
    path, token = jitsi.visits[-1]
    assert path == "/meet/Board-Meeting"
    prosody = Prosody(
        ProsodyConfig(app_id="konnect", app_secret=SECRET, accepted_issuers=(server.url,))
    )
    session = prosody.connect(token)
    assert session.claims["context"]["user"]["name"] == "Gustav Gast"
    assert prosody.join(session, "board-meeting") == "member"
    assert watch.console_errors == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unusable_invitation_gets_a_clear_page_in_every_language(
    server_factory: Callable[..., RunningServer],
    open_page: OpenPage,
    tmp_path: Path,
    language: str,
) -> None:
    (tmp_path / "meet.secret").write_bytes(SECRET)
    (tmp_path / "jitsi.yaml").write_text(
        "jitsi:\n  - {id: meet, url: 'https://meet.example.com', app_id: k, "
        "secret_file: meet.secret}\n"
    )
    server = server_factory(jitsi_conf=tmp_path / "jitsi.yaml")
    catalog = catalogue(language)
    page, watch = open_page(server, locale=language)
    watch.expect_status(400)
    page.goto(server.url + "/signin/v1/jitsi/join#tampered-or-foreign")
    expect(page.get_by_role("heading", name=catalog["joinfailed.title"])).to_be_visible()
    expect(page.locator("#joinfailed-text")).to_have_text(catalog["join.invalid"])
