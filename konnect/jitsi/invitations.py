"""Invitations to one Jitsi room: sealed, self-contained links and their calendar file (no I/O).

An invitation names the server, the room, the role (guest or moderator), a validity window,
optionally the invitee's name, and a random id under which it can be revoked. It is sealed
with konnect's encryption secret, so a link cannot be altered or made up; nothing is stored.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from icalendar import Calendar, Event

from konnect.crypto import Sealer
from konnect.jitsi.rooms import InvalidRoom, parse_room

PURPOSE = "konnect-jitsi-invitation-v1"
ROLES = ("guest", "moderator")
#: The longest window an invitation may be open for.
MAX_WINDOW = 31 * 86_400
MAX_NAME_LENGTH = 80

Role = Literal["guest", "moderator"]


class InvitationError(Exception):
    """An invitation that cannot be used; `code` names the reason for the invitee's page."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Invitation:
    id: str
    server: str
    room: str
    role: Role
    not_before: int
    not_after: int
    name: str = ""
    inviter: str = ""

    def record(self) -> dict[str, Any]:
        return {
            "i": self.id,
            "s": self.server,
            "r": self.room,
            "m": self.role,
            "nb": self.not_before,
            "na": self.not_after,
            "n": self.name,
            "b": self.inviter,
        }


def new_invitation(
    *,
    server: str,
    room: str,
    role: str,
    not_before: int,
    not_after: int,
    name: str,
    inviter: str,
    now: int,
) -> Invitation:
    """A checked invitation; InvitationError("invalid_request", why) for a bad request."""
    try:
        parse_room(room)
    except InvalidRoom as error:
        raise InvitationError("invalid_request", str(error)) from None
    if role not in ROLES:
        raise InvitationError("invalid_request", "The role is guest or moderator.")
    if not_after <= not_before or not_after <= now:
        raise InvitationError("invalid_request", "The invitation must end after it starts.")
    if not_after - not_before > MAX_WINDOW:
        raise InvitationError("invalid_request", "An invitation is valid for 31 days at most.")
    return Invitation(
        id=secrets.token_urlsafe(12),
        server=server,
        room=room,
        role="moderator" if role == "moderator" else "guest",
        not_before=not_before,
        not_after=not_after,
        name=display_name(name) if name.strip() else "",
        inviter=inviter,
    )


def display_name(value: str) -> str:
    """A name as the invitee gives it: trimmed, 1 to 80 characters, no control characters."""
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvitationError("invalid_name", f"Names have 1 to {MAX_NAME_LENGTH} characters.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvitationError("invalid_name", "Names cannot hold control characters.")
    return name


def seal(sealer: Sealer, invitation: Invitation) -> str:
    return sealer.seal_json(invitation.record(), PURPOSE)


def open_sealed(sealer: Sealer, token: str) -> Invitation:
    """The invitation in a link; InvitationError("invitation_invalid") when it is tampered
    with, truncated or sealed by another konnect."""
    record = sealer.open_json(token, PURPOSE)
    invalid = InvitationError("invitation_invalid", "This invitation link is not valid.")
    if record is None or record.get("m") not in ROLES:
        raise invalid
    try:
        return Invitation(
            id=str(record["i"]),
            server=str(record["s"]),
            room=str(record["r"]),
            role="moderator" if record["m"] == "moderator" else "guest",
            not_before=int(record["nb"]),
            not_after=int(record["na"]),
            name=str(record.get("n", "")),
            inviter=str(record.get("b", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid from None


def check_window(invitation: Invitation, now: int) -> None:
    if now < invitation.not_before:
        raise InvitationError("invitation_early", "This invitation is not valid yet.")
    if now >= invitation.not_after:
        raise InvitationError("invitation_expired", "This invitation has expired.")


def calendar_file(invitation: Invitation, link: str, room_url: str, issuer_host: str) -> bytes:
    """An iCalendar file with the meeting's window, the room and the invitation link."""
    calendar = Calendar()
    calendar.add("prodid", "-//konnect//Jitsi invitation//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{invitation.id}@{issuer_host}")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", datetime.fromtimestamp(invitation.not_before, UTC))
    event.add("dtend", datetime.fromtimestamp(invitation.not_after, UTC))
    event.add("summary", f"Meeting: {invitation.room}")
    event.add("location", room_url)
    event.add("url", link)
    event.add("description", f"Join the meeting: {link}")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
