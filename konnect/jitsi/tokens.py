"""Jitsi tokens: who may have one, with which role, and the signed JWT (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from konnect.jitsi.config import EVERYBODY, JitsiServer
from konnect.jitsi.rooms import Room
from konnect.keys import KeySet, sign_with_secret

#: Jitsi's token library checks `nbf` with no leeway: a Jitsi host whose clock is a little
#: behind konnect's would refuse a fresh token, so tokens are valid from a moment before.
NOT_BEFORE_LEEWAY = 30


@dataclass(frozen=True)
class Participant:
    """Whom a token is for: `id` is the konnect subject relying parties know the user by."""

    id: str
    name: str
    email: str = ""
    groups: frozenset[str] = frozenset()


def may_join(server: JitsiServer, groups: Iterable[str]) -> bool:
    """Whether `allowed_groups` lets a signed-in user have a token (none listed: everybody)."""
    return server.allowed_groups is None or not server.allowed_groups.isdisjoint(groups)


def is_moderator(server: JitsiServer, groups: Iterable[str]) -> bool:
    """Whether `moderator_groups` makes the user a moderator (none listed: everybody)."""
    return server.moderator_groups is None or not server.moderator_groups.isdisjoint(groups)


def features_for(server: JitsiServer, groups: Iterable[str]) -> dict[str, bool]:
    """Every feature named in `features`, on when the entry for '*' or a group of the user
    switches it on. Jitsi allows every feature when `features` is absent, so an unlisted
    user gets them all switched off rather than no `features` at all."""
    names = {name for switches in server.features.values() for name in switches}
    entries = [server.features[key] for key in (EVERYBODY, *groups) if key in server.features]
    return {name: any(entry.get(name, False) for entry in entries) for name in sorted(names)}


def token_claims(
    server: JitsiServer,
    room: Room,
    person: Participant,
    *,
    moderator: bool,
    now: int,
    until: int | None = None,
    lobby_bypass: bool | None = None,
) -> dict[str, Any]:
    """The claims Jitsi's prosody checks (`iss`, `aud`, `sub`, `room`, times) and the
    `context` its web client and `mod_token_affiliation` read. `until` caps `exp` (the end
    of an invitation); `lobby_bypass` overrides the server's setting."""
    user: dict[str, Any] = {"id": person.id, "name": person.name}
    if person.email:
        user["email"] = person.email
    user["affiliation"] = "owner" if moderator else "member"
    user["moderator"] = moderator
    if server.lobby_bypass if lobby_bypass is None else lobby_bypass:
        user["lobby_bypass"] = True
    context: dict[str, Any] = {"user": user}
    if server.group:
        context["group"] = server.group
    if server.features:
        context["features"] = features_for(server, person.groups)
    return {
        "iss": server.issuer,
        "aud": server.audience,
        "sub": _subject(server, room),
        "room": room.claim,
        "iat": now,
        "nbf": now - NOT_BEFORE_LEEWAY,
        "exp": now + server.lifetime if until is None else min(now + server.lifetime, until),
        "context": context,
    }


def _subject(server: JitsiServer, room: Room) -> str:
    """A `/tenant/room` meeting is checked against the tenant, others against `sub`."""
    if room.tenant and server.sub != "*":
        return room.tenant.lower()
    return server.sub


def sign_token(server: JitsiServer, claims: Mapping[str, Any], keys: KeySet) -> str:
    """The JWT: HS* with the server's shared secret, or RS256 with konnect's RSA key (ASAP)."""
    if server.secret is not None:
        return sign_with_secret(claims, server.secret, server.alg)
    return keys.sign(claims, server.alg)
