"""A konnect with Jitsi servers configured, its users, and a browser signing in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import RunningServer, browser, sign_in

SECRET = b"a shared secret of Jitsi and konnect, 64 bytes long for HS512..."
JITSI_URL = "http://127.0.0.1:9/meet"
ASAP_URL = "http://127.0.0.1:9/classes"
SERVERS = f"""
jitsi:
  - id: meet
    url: {JITSI_URL}
    app_id: konnect
    audience: jitsi
    sub: meet.jitsi
    secret_file: meet.secret
    moderator_groups: [staff]
    lobby_bypass: true
    group: example
    features:
      "*": {{screen-sharing: true}}
      staff: {{recording: true}}
  - id: classes
    url: {ASAP_URL}/
    app_id: classes
    asap: true
    lifetime: 120
  - id: staff-only
    url: https://staff.example.com
    app_id: konnect
    secret_file: meet.secret
    alg: HS512
    allowed_groups: [staff]
"""


@dataclass(frozen=True)
class JitsiSite:
    server: RunningServer
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def jitsi_folder(tmp_path: Path, password_hash: str) -> Path:
    folder = tmp_path / "jitsi"
    folder.mkdir()
    (folder / "meet.secret").write_bytes(SECRET + b"\n")
    (folder / "jitsi.yaml").write_text(SERVERS)
    (folder / "users.yaml").write_text(
        f"""
users:
  - username: jonas
    password_hash: "{password_hash}"
    id: "1001"
    name: Jonas Brekke
    email: jonas@example.com
    groups: [staff]
  - username: erika
    password_hash: "{password_hash}"
    id: "1003"
    name: Erika Mustermann
"""
    )
    return folder


@pytest.fixture
def jitsi_site(server_factory: Callable[..., RunningServer], jitsi_folder: Path) -> JitsiSite:
    server = server_factory(
        jitsi_conf=jitsi_folder / "jitsi.yaml", users_file=jitsi_folder / "users.yaml"
    )
    return JitsiSite(server, jitsi_folder)


@pytest.fixture
def signed_in() -> Iterator[Callable[[str, str], httpx.Client]]:
    """Browsers signed in as a user (closed after the test)."""
    clients: list[httpx.Client] = []

    def open_browser(base_url: str, username: str) -> httpx.Client:
        client = browser(base_url)
        clients.append(client)
        assert sign_in(client, base_url, username).status_code == 200
        return client

    yield open_browser
    for client in clients:
        client.close()


SignedIn = Callable[[str, str], httpx.Client]


def follow_login(client: httpx.Client, query: str) -> httpx.Response:
    """GET /jitsi/login and the redirect below the identifier folder; the last answer."""
    entry = client.get("/jitsi/login?" + query)
    assert entry.status_code == 302
    location = entry.headers["location"]
    assert location.startswith("/signin/v1/identifier/_/jitsi/login")
    return client.get(location)


def token_of(response: httpx.Response, jitsi_url: str, room_path: str) -> str:
    """The jwt of a redirect to the Jitsi room."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{jitsi_url}/{room_path}"
    return parse_qs(location.query)["jwt"][0]
