"""Invitations against a running konnect: sealed links, roles, windows, revocation, .ics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from icalendar import Calendar

from konnect.http.app import Overrides
from konnect.state import MemoryStateStore, StateStoreUnavailable
from tests.conftest import Clock, RedisServer, RunningServer
from tests.jitsi.conftest import JITSI_URL, SECRET, JitsiSite, SignedIn
from tests.jitsi.prosody_rules import Prosody, ProsodyConfig, Refused

API = "/signin/v1/identifier/_/jitsi/"
HOUR = 3600


def call(client: httpx.Client, op: str, **body: Any) -> httpx.Response:
    headers = {"Kopano-Konnect-XSRF": "1", "Origin": str(client.base_url).rstrip("/")}
    return client.post(API + op, json={"state": "st", **body}, headers=headers)


def invite(client: httpx.Client, room: str = "Planning", **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "server": "meet",
        "room": room,
        "role": "guest",
        "not_before": now - 60,
        "not_after": now + HOUR,
        "name": "",
        **changes,
    }
    response = call(client, "invite", **body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def sealed(link: str) -> str:
    return link.split("#", 1)[1]


def join(client: httpx.Client, link: str, name: str = "Gustav Gast") -> httpx.Response:
    return call(client, "join", invitation=sealed(link), name=name)


def token_from(answer: httpx.Response, room_path: str) -> str:
    assert answer.status_code == 200, answer.text
    location = urlsplit(answer.json()["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{JITSI_URL}/{room_path}"
    return str(parse_qs(location.query)["jwt"][0])


def prosody(site: JitsiSite) -> Prosody:
    return Prosody(
        ProsodyConfig(
            app_id="konnect",
            app_secret=SECRET,
            accepted_issuers=(site.url,),
            accepted_audiences=("jitsi",),
            domain_verification=True,
        )
    )


@pytest.fixture
def guest(jitsi_site: JitsiSite) -> Iterator[httpx.Client]:
    """A browser with no account: the invitee."""
    with httpx.Client(base_url=jitsi_site.url, timeout=10) as client:
        yield client


def test_a_guest_joins_only_the_invited_room_and_only_as_guest(
    jitsi_site: JitsiSite, signed_in: SignedIn, guest: httpx.Client
) -> None:
    made = invite(signed_in(jitsi_site.url, "jonas"), room="Planning")
    assert made["link"].startswith(jitsi_site.url + "/signin/v1/jitsi/join#")
    looked = call(guest, "invitation", invitation=sealed(made["link"]))
    assert looked.json()["room"] == "Planning"
    assert looked.json()["role"] == "guest"
    token = token_from(join(guest, made["link"]), "Planning")
    judge = prosody(jitsi_site)
    session = judge.connect(token)
    assert judge.join(session, "planning") == "member"
    with pytest.raises(Refused):
        judge.join(session, "other-room")
    user = session.claims["context"]["user"]
    assert user["name"] == "Gustav Gast"
    assert user["id"] == f"invitation:{made['id']}"
    assert "lobby_bypass" not in user
    assert session.claims["room"] == "planning"


def test_an_invited_moderator_becomes_moderator(
    jitsi_site: JitsiSite, signed_in: SignedIn, guest: httpx.Client
) -> None:
    made = invite(signed_in(jitsi_site.url, "jonas"), role="moderator", name="Mona Moderator")
    assert call(guest, "invitation", invitation=sealed(made["link"])).json()["name"] == (
        "Mona Moderator"
    )
    token = token_from(join(guest, made["link"], name=""), "Planning")
    judge = prosody(jitsi_site)
    session = judge.connect(token)
    assert session.claims["context"]["user"]["name"] == "Mona Moderator"
    assert judge.join(session, "planning") == "owner"


def test_tokens_of_an_invitation_end_with_it(
    jitsi_site: JitsiSite, signed_in: SignedIn, guest: httpx.Client
) -> None:
    now = int(time.time())
    made = invite(signed_in(jitsi_site.url, "jonas"), not_before=now - 60, not_after=now + 100)
    claims = prosody(jitsi_site).connect(token_from(join(guest, made["link"]), "Planning")).claims
    assert claims["exp"] == now + 100


def test_only_moderators_may_invite(jitsi_site: JitsiSite, signed_in: SignedIn) -> None:
    member = signed_in(jitsi_site.url, "erika")
    # classes has no moderator_groups: everybody moderates there, as with LemonLDAP::NG.
    assert [server["id"] for server in call(member, "servers").json()["servers"]] == ["classes"]
    now = int(time.time())
    refused = call(
        member,
        "invite",
        server="meet",
        room="x",
        role="guest",
        not_before=now,
        not_after=now + HOUR,
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "access_denied")
    with httpx.Client(base_url=jitsi_site.url) as nobody:
        assert call(nobody, "servers").json()["signedIn"] is False
        assert call(nobody, "invite", server="meet").json()["error"] == "login_required"
    servers = call(signed_in(jitsi_site.url, "jonas"), "servers").json()["servers"]
    assert [server["id"] for server in servers] == ["meet", "classes", "staff-only"]


@pytest.mark.parametrize(
    "changes",
    [
        {"room": "a b"},
        {"room": ""},
        {"role": "owner"},
        {"not_after": 0},
        {"not_before": int(time.time()) + 10, "not_after": int(time.time()) + 5},
        {"not_after": int(time.time()) + 40 * 86_400},
        {"not_before": "soon"},
        {"name": "x" * 81},
        {"server": "nope"},
    ],
)
def test_bad_invitations_are_refused(
    jitsi_site: JitsiSite, signed_in: SignedIn, changes: dict[str, Any]
) -> None:
    now = int(time.time())
    body = {"server": "meet", "room": "r", "role": "guest", "not_before": now, **changes}
    body.setdefault("not_after", now + HOUR)
    answer = call(signed_in(jitsi_site.url, "jonas"), "invite", **body)
    assert answer.status_code == 400
    assert answer.json()["error"] in ("invalid_request", "invalid_name")


def test_early_expired_tampered_and_foreign_links_are_refused(
    jitsi_site: JitsiSite,
    signed_in: SignedIn,
    guest: httpx.Client,
    server_factory: Callable[..., RunningServer],
    jitsi_folder: Path,
    tmp_path: Path,
) -> None:
    host = signed_in(jitsi_site.url, "jonas")
    now = int(time.time())
    early = invite(host, not_before=now + HOUR, not_after=now + 2 * HOUR)
    assert join(guest, early["link"]).json()["error"] == "invitation_early"
    token = sealed(invite(host)["link"])
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for bad in (tampered, token[:-20], "nonsense", ""):
        answer = call(guest, "join", invitation=bad, name="Gustav")
        assert (answer.status_code, answer.json()["error"]) == (400, "invitation_invalid")
    link = invite(host)["link"]
    # Another konnect, with another encryption secret, does not accept the link.
    (tmp_path / "other.key").write_bytes(bytes(range(1, 33)))
    other = server_factory(
        encryption_secret=tmp_path / "other.key",
        jitsi_conf=jitsi_folder / "jitsi.yaml",
        users_file=jitsi_folder / "users.yaml",
    )
    with httpx.Client(base_url=other.url) as stranger:
        assert join(stranger, link).json()["error"] == "invitation_invalid"


def test_expired_links_are_refused(
    server_factory: Callable[..., RunningServer], jitsi_folder: Path, signed_in: SignedIn
) -> None:
    clock = Clock(time.time())
    server = server_factory(
        Overrides(clock=clock),
        jitsi_conf=jitsi_folder / "jitsi.yaml",
        users_file=jitsi_folder / "users.yaml",
    )
    now = int(clock.now)
    made = invite(signed_in(server.url, "jonas"), not_before=now, not_after=now + HOUR)
    clock.advance(HOUR)
    with httpx.Client(base_url=server.url) as late:
        answer = join(late, made["link"])
        assert (answer.status_code, answer.json()["error"]) == (403, "invitation_expired")
        assert call(late, "invitation", invitation=sealed(made["link"])).status_code == 403


def test_a_revoked_invitation_is_refused_by_every_instance(
    server_factory: Callable[..., RunningServer],
    jitsi_folder: Path,
    signed_in: SignedIn,
    redis_server: RedisServer,
) -> None:
    shared = {
        "jitsi_conf": jitsi_folder / "jitsi.yaml",
        "users_file": jitsi_folder / "users.yaml",
        "state_store": redis_server.url,
    }
    first, second = server_factory(**shared), server_factory(**shared)
    host = signed_in(first.url, "jonas")
    made = invite(host)
    link = made["link"]
    with httpx.Client(base_url=second.url) as guest:
        assert join(guest, link).status_code == 200
        someone_else = call(signed_in(second.url, "erika"), "revoke", invitation=sealed(link))
        assert someone_else.status_code == 403
        revoked = call(host, "revoke", invitation=sealed(link))
        assert revoked.json()["revoked"] == made["id"]
        answer = join(guest, link)
        assert (answer.status_code, answer.json()["error"]) == (403, "invitation_revoked")


def test_the_calendar_file_holds_the_window_and_the_link(
    jitsi_site: JitsiSite, signed_in: SignedIn
) -> None:
    now = int(time.time())
    made = invite(signed_in(jitsi_site.url, "jonas"), not_before=now, not_after=now + HOUR)
    calendar = Calendar.from_ical(made["ics"])
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert int(event.decoded("dtstart").timestamp()) == now
    assert int(event.decoded("dtend").timestamp()) == now + HOUR
    assert str(event.get("url")) == made["link"]
    assert made["link"] in str(event.get("description"))
    assert str(event.get("location")) == f"{JITSI_URL}/{quote('Planning')}"


def test_cross_site_requests_are_refused(jitsi_site: JitsiSite, signed_in: SignedIn) -> None:
    client = signed_in(jitsi_site.url, "jonas")
    answer = client.post(
        API + "servers",
        json={"state": "s"},
        headers={"Kopano-Konnect-XSRF": "1", "Origin": "https://evil.example.com"},
    )
    assert answer.status_code == 400


class StoreDown(MemoryStateStore):
    """A state store that cannot be reached for reading revocations."""

    async def get(self, key: str) -> str | None:
        if key.startswith("jitsi-"):
            raise StateStoreUnavailable("store unreachable")
        return await super().get(key)


def test_joining_fails_closed_when_revocations_cannot_be_read(
    server_factory: Callable[..., RunningServer], jitsi_folder: Path, signed_in: SignedIn
) -> None:
    server = server_factory(
        Overrides(store=StoreDown()),
        jitsi_conf=jitsi_folder / "jitsi.yaml",
        users_file=jitsi_folder / "users.yaml",
    )
    made = invite(signed_in(server.url, "jonas"))
    with httpx.Client(base_url=server.url) as guest:
        answer = join(guest, made["link"])
    assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")
    assert "location" not in answer.json()
