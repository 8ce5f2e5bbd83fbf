"""Room names as Jitsi Meet accepts them, and the form its backend compares tokens with."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

MAX_ROOM_LENGTH = 200
# Jitsi Meet's web client strips these from room names (RFC 3986 delimiters and what its
# XMPP library refuses); a name holding them would not be the room the user asked for.
_EXCLUDED = re.compile(r"[:?#\[\]@!$&'()*+,;=></\"\\%]")


class InvalidRoom(ValueError):
    """A missing or malformed room; the message is safe to show."""


@dataclass(frozen=True)
class Room:
    """A room the user asked for: its name as typed and, in `/tenant/room` form, the tenant."""

    name: str
    tenant: str = ""

    @property
    def path(self) -> str:
        """The path below the Jitsi server's URL that opens the room."""
        parts = [self.tenant, self.name] if self.tenant else [self.name]
        return "/".join(quote(part, safe="") for part in parts)

    @property
    def claim(self) -> str:
        """The `room` claim: what Jitsi's backend names the room (its MUC node)."""
        return backend_name(self.name)


def backend_name(name: str) -> str:
    """Jitsi's backend-safe room name: NFKC, lowercased, percent-encoded, lowercased again."""
    normalised = unicodedata.normalize("NFKC", name).lower()
    return quote(normalised, safe="~").lower()


def parse_room(value: str | None) -> Room:
    """`room` or `tenant/room` from the login request; InvalidRoom when unusable."""
    if value is None or not value.strip("/ "):
        raise InvalidRoom("The meeting link names no room.")
    parts = value.strip("/").split("/")
    if len(parts) > 2:
        raise InvalidRoom("A room is named as ROOM or TENANT/ROOM.")
    for part in parts:
        _check_name(part)
    if len(parts) == 2:
        return Room(name=parts[1], tenant=parts[0])
    return Room(name=parts[0])


def _check_name(part: str) -> None:
    if not part or len(part) > MAX_ROOM_LENGTH:
        raise InvalidRoom(f"Room names have 1 to {MAX_ROOM_LENGTH} characters.")
    if _EXCLUDED.search(part) or any(unicodedata.category(char)[0] in "CZ" for char in part):
        raise InvalidRoom(
            "Room names cannot hold spaces, control characters or any of : ? # [ ] @ ! $ & "
            "' ( ) * + , ; = < > / \" \\ %."
        )
