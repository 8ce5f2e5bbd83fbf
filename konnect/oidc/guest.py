"""Client-controlled guests (Kopano Meet): a trusted client signs a request object naming a
guest, and the guest gets its own identity, a narrow set of scopes and short-lived tokens.

A guest's id is namespaced: `kc.i.id` is the guest id hashed as Konnect hashed guest subjects
(`…@konnect`), so a client naming a guest can never mint a token that services keying users by
`kc.i.id` take for a real user. `konnect/raw_sub` is never granted to guests.

Every refusal is logged with its reason and then treated as "not signed in", so with
`prompt=none` the client sees `login_required`, as with Konnect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from konnect.clients import ClientRegistration
from konnect.crypto import public_subject
from konnect.identity import User
from konnect.oidc.claims import GUEST_PROVIDER
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.scopes import OFFLINE_ACCESS, OPENID, RAW_SUB
from konnect.state import StateStoreUnavailable

GUEST_OK = "konnect/guestok"
GUEST_SCOPES = ("konnect/id", "profile", "email")
#: A guest request object is meant for one redirect: it may live ten minutes at most.
MAX_OBJECT_LIFETIME = 600
#: Without `exp` an object never expires; its `jti` is then remembered this long.
JTI_MEMORY_WITHOUT_EXP = 86_400
CLOCK_SKEW = 60
__all__ = ["GUEST_PROVIDER", "Guest", "GuestRefused", "admit"]
_HARDENING_CLAIMS = ("aud", "iat", "exp", "jti")


class GuestRefused(Exception):
    """The request names a guest, but the guest may not sign in; the message is the reason."""


@dataclass(frozen=True)
class Guest:
    user: User
    scopes: tuple[str, ...]


def names_guest(request_object: Mapping[str, Any] | None) -> bool:
    """Whether a (verified) request object asks for a guest at all."""
    claims = request_object.get("claims") if request_object else None
    id_token = claims.get("id_token") if isinstance(claims, dict) else None
    return isinstance(id_token, dict) and "guest" in id_token


def _value(request: Mapping[str, Any], name: str) -> Any:
    entry = request.get(name)
    return entry.get("value") if isinstance(entry, dict) else None


def _text(request: Mapping[str, Any], name: str) -> str:
    value = _value(request, name)
    return value if isinstance(value, str) else ""


def guest_user(claims: Mapping[str, Any]) -> User:
    """The guest the `claims.id_token` request describes; its `guest` value names it."""
    id_token = claims.get("id_token")
    if not isinstance(id_token, dict):
        raise GuestRefused("claims has no id_token request")
    guest_id = _value(id_token, "guest")
    if not isinstance(guest_id, str) or not guest_id.strip():
        raise GuestRefused("the guest claim has no non-empty string value")
    if len(guest_id) > 255:
        raise GuestRefused("the guest id is too long")
    return User(
        subject=public_subject(guest_id, GUEST_PROVIDER),
        username="",
        name=_text(id_token, "name"),
        given_name=_text(id_token, "given_name"),
        family_name=_text(id_token, "family_name"),
        email=_text(id_token, "email"),
        email_verified=_value(id_token, "email_verified") is True,
    )


def guest_scopes(client: ClientRegistration, requested: tuple[str, ...]) -> tuple[str, ...]:
    """openid, the guest scopes and the client's trusted scopes that were asked for; never
    offline_access or konnect/raw_sub. The client must list `konnect/guestok` among its
    trusted scopes."""
    if not client.trusted or GUEST_OK not in client.trusted_scopes:
        raise GuestRefused(f"client does not authorize the {GUEST_OK} scope")
    if GUEST_OK not in requested:
        raise GuestRefused(f"the {GUEST_OK} scope was not requested")
    allowed = {OPENID, *GUEST_SCOPES, *client.trusted_scopes} - {OFFLINE_ACCESS, RAW_SUB}
    return tuple(scope for scope in requested if scope in allowed)


def _check_times(request_object: Mapping[str, Any], require: bool, now: int) -> None:
    """RFC 9101 §10.8 hardening: a short life, checked whenever the object states one."""
    missing = [name for name in _HARDENING_CLAIMS if name not in request_object]
    if require and missing:
        raise GuestRefused(f"request object lacks {', '.join(missing)}")
    issued = request_object.get("iat")
    expires = request_object.get("exp")
    if issued is not None:
        if not isinstance(issued, int) or isinstance(issued, bool):
            raise GuestRefused("request object iat is not a number")
        if issued > now + CLOCK_SKEW or now - issued > MAX_OBJECT_LIFETIME:
            raise GuestRefused("request object iat is out of range")
    if expires is not None:
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise GuestRefused("request object exp is not a number")
        start = issued if isinstance(issued, int) else now
        if expires - start > MAX_OBJECT_LIFETIME:
            raise GuestRefused(f"request object lives longer than {MAX_OBJECT_LIFETIME} seconds")


async def _spend_jti(provider: Provider, client_id: str, request_object: Mapping[str, Any]) -> None:
    """A `jti` is accepted once, across every instance sharing the state store."""
    jti = request_object.get("jti")
    if jti is None:
        return
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise GuestRefused("request object jti is not a usable string")
    expires = request_object.get("exp")
    ttl = (
        max(expires - provider.now(), 0) + CLOCK_SKEW
        if isinstance(expires, int)
        else JTI_MEMORY_WITHOUT_EXP
    )
    try:
        first = await provider.lifecycle.first_use_of_guest_object(client_id, jti, ttl)
    except StateStoreUnavailable as exc:
        raise GuestRefused(f"state store unavailable for the jti check: {exc}") from None
    if not first:
        raise GuestRefused("request object jti was used before")


async def admit(
    provider: Provider,
    client: ClientRegistration,
    request_object: Mapping[str, Any],
    scopes: tuple[str, ...],
    prompt: frozenset[str],
) -> Guest | None:
    """The guest a verified request object names, or None (logged) when it may not sign in."""
    if not provider.guests.enabled or not names_guest(request_object):
        return None
    if "consent" in prompt:
        raise OAuthError("interaction_required", "guests cannot give consent")
    try:
        user = guest_user(request_object["claims"])
        approved = guest_scopes(client, scopes)
        _check_times(request_object, provider.guests.require_exp_jti, provider.now())
        await _spend_jti(provider, client.id, request_object)
    except GuestRefused as refused:
        provider.log.warning("guest sign-in refused for client %s: %s", client.id, refused)
        return None
    provider.events.guest_admitted(client.id, user.username, not client.verified)
    return Guest(user, approved)
