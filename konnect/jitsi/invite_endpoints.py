"""The invitation API of the sign-in web app: invite, revoke, look at and join by invitation.

JSON over POST below the identifier API's folder, with its cross-site request guard. Creating
and revoking need a signed-in user who may moderate on the server; looking at and joining
need only the sealed invitation. A revoked invitation's id is kept in the state store until
the invitation would have ended, so every instance refuses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from konnect.crypto import Sealer, public_subject
from konnect.identifier.api import api_request_object
from konnect.identity import User, provider_tag
from konnect.jitsi.config import JitsiServer
from konnect.jitsi.endpoints import JitsiIssuer, pick_server, signed_in_user
from konnect.jitsi.invitations import (
    Invitation,
    InvitationError,
    calendar_file,
    check_window,
    display_name,
    new_invitation,
    open_sealed,
    seal,
)
from konnect.jitsi.rooms import parse_room
from konnect.jitsi.tokens import Participant, is_moderator, may_join, token_claims
from konnect.oidc.errors import OAuthError
from konnect.oidc.responses import NO_STORE, json_response
from konnect.state import StateStoreUnavailable

T = TypeVar("T")
Handler = Callable[[Request, dict[str, Any]], Awaitable[dict[str, Any]]]

REVOKED = "jitsi-invitation-revoked:"
_STATUS = {
    "invitation_invalid": 400,
    "invitation_early": 403,
    "invitation_expired": 403,
    "invitation_revoked": 403,
    "invalid_name": 400,
    "invalid_request": 400,
}


class InvitationApi:
    def __init__(self, issuer: JitsiIssuer, sealer: Sealer) -> None:
        self.issuer = issuer
        self.provider = issuer.provider
        self.sealer = sealer
        endpoints = self.provider.endpoints
        self.base = endpoints.identifier_api + "jitsi/"
        self.join_page = endpoints.url(endpoints.signin_prefix + "/jitsi/join")

    def routes(self) -> list[Route]:
        handlers: dict[str, Handler] = {
            "servers": self.servers,
            "invite": self.invite,
            "revoke": self.revoke,
            "invitation": self.invitation,
            "join": self.join,
        }
        return [
            Route(self.base + name, _answering(handler), methods=["POST"])
            for name, handler in handlers.items()
        ]

    # -- the inviting user ----------------------------------------------------------------
    async def _moderator(self, request: Request, server: JitsiServer) -> User:
        user = await signed_in_user(self.provider, request)
        if user is None:
            raise OAuthError("login_required", "Sign in to invite to meetings.")
        if not self._may_invite(server, user):
            raise OAuthError("access_denied", "You may not invite to meetings on this server.")
        return user

    @staticmethod
    def _may_invite(server: JitsiServer, user: User) -> bool:
        return may_join(server, user.groups) and is_moderator(server, user.groups)

    async def servers(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The servers the signed-in user may invite to, for the invitation page (which
        sends the browser to sign in first when `signedIn` is false)."""
        user = await signed_in_user(self.provider, request)
        if user is None:
            return {"signedIn": False}
        listed = [
            {"id": server.id, "url": server.url}
            for server in self.issuer.servers.values()
            if self._may_invite(server, user)
        ]
        if not listed:
            raise OAuthError("access_denied", "You may not invite to meetings.")
        return {"signedIn": True, "servers": listed}

    async def invite(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        server = pick_server(self.issuer.servers, _text(body, "server") or None)
        user = await self._moderator(request, server)
        invitation = new_invitation(
            server=server.id,
            room=_text(body, "room"),
            role=_text(body, "role"),
            not_before=_number(body, "not_before"),
            not_after=_number(body, "not_after"),
            name=_text(body, "name"),
            inviter=self._public_subject(user),
            now=self.provider.now(),
        )
        link = self.join_page + "#" + seal(self.sealer, invitation)
        events = self.provider.events
        events.invitation("created", server.id, invitation.room, user.username, invitation.id)
        room = parse_room(invitation.room)
        host = urlsplit(self.provider.issuer).hostname or "konnect"
        return {
            "link": link,
            "id": invitation.id,
            "ics": calendar_file(invitation, link, f"{server.url}/{room.path}", host).decode(),
        }

    def _public_subject(self, user: User) -> str:
        return public_subject(user.subject, provider_tag(user, self.provider.backend.name))

    async def revoke(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        invitation = open_sealed(self.sealer, _sealed(body))
        server = pick_server(self.issuer.servers, invitation.server)
        user = await self._moderator(request, server)
        if invitation.inviter != self._public_subject(user):
            raise OAuthError("access_denied", "Only whoever sent an invitation can revoke it.")
        remaining = invitation.not_after - self.provider.now()
        if remaining > 0:
            await self._store_call(
                self.provider.store.put(REVOKED + invitation.id, "1", remaining + 60)
            )
        events = self.provider.events
        events.invitation("revoked", server.id, invitation.room, user.username, invitation.id)
        return {"revoked": invitation.id}

    # -- the invitee ----------------------------------------------------------------------
    async def _usable(self, body: dict[str, Any]) -> tuple[Invitation, JitsiServer]:
        invitation = open_sealed(self.sealer, _sealed(body))
        server = self.issuer.servers.get(invitation.server)
        if server is None:
            raise InvitationError("invitation_invalid", "This invitation link is not valid.")
        check_window(invitation, self.provider.now())
        revoked = await self._store_call(self.provider.store.get(REVOKED + invitation.id))
        if revoked is not None:
            raise InvitationError("invitation_revoked", "This invitation was withdrawn.")
        return invitation, server

    async def invitation(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """What the join page shows before the invitee gives a name."""
        invitation, server = await self._usable(body)
        return {
            "room": invitation.room,
            "role": invitation.role,
            "name": invitation.name,
            "notBefore": invitation.not_before,
            "notAfter": invitation.not_after,
            "server": urlsplit(server.url).hostname or server.url,
        }

    async def join(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        invitation, server = await self._usable(body)
        name = display_name(_text(body, "name") or invitation.name)
        room = parse_room(invitation.room)
        moderator = invitation.role == "moderator"
        claims = token_claims(
            server,
            room,
            Participant(id=f"invitation:{invitation.id}", name=name),
            moderator=moderator,
            now=self.provider.now(),
            until=invitation.not_after,
            lobby_bypass=None if moderator else False,
        )
        token = await self.issuer.signed(server, claims)
        events = self.provider.events
        events.jitsi_token("guest", server.id, invitation.room, name, invitation.id)
        return {"location": f"{server.url}/{room.path}?{urlencode({'jwt': token})}"}

    async def _store_call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except StateStoreUnavailable:
            self.provider.log.error("Jitsi invitations: the state store is unavailable")
            raise OAuthError(
                "temporarily_unavailable", "Invitations are unavailable, try again later."
            ) from None


def _answering(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route handler: guard, parse, run `handler`, answer JSON with the request's state."""

    async def answer(request: Request) -> Response:
        state = ""
        try:
            body = await _body(request)
            state = str(body.get("state", ""))
            result = await handler(request, body)
        except OAuthError as error:
            return json_response({**error.as_dict(), "state": state}, error.status, NO_STORE)
        except InvitationError as error:
            payload = {"error": error.code, "error_description": error.description}
            return json_response({**payload, "state": state}, _STATUS[error.code], NO_STORE)
        return json_response({**result, "state": state}, 200, NO_STORE)

    return answer


async def _body(request: Request) -> dict[str, Any]:
    return await api_request_object(request)


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise OAuthError("invalid_request", f"{key} must be text")
    return value


def _number(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OAuthError("invalid_request", f"{key} must be a time in seconds")
    return value


def _sealed(body: dict[str, Any]) -> str:
    value = body.get("invitation")
    if not isinstance(value, str):
        raise InvitationError("invitation_invalid", "This invitation link is not valid.")
    return value
