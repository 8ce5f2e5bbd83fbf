"""Claim sets: what a user looks like in userinfo, ID tokens and `kc.identity`, and what a
`claims` request parameter may change about them.

Claims come only from granted scopes. A `claims` request naming a scope's claim requests that
scope (so consent shows it and `--allow-scope` limits it); it can also pin the `sub` and ask
for `auth_time` (OpenID Connect Core §5.5). It never adds values of its own. How the user
signed in (`amr`, `acr`, `auth_time`) comes from the grant (`authentication_claims`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from konnect.crypto import public_subject
from konnect.identity import User
from konnect.oidc.grants import Grant
from konnect.oidc.scopes import RAW_SUB

GUEST_PROVIDER = "guest"
PROFILE_CLAIMS = ("name", "family_name", "given_name", "preferred_username")
EMAIL_CLAIMS = ("email", "email_verified")
#: The claims each scope can add to userinfo and ID tokens (`user_claims`).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": PROFILE_CLAIMS,
    "email": EMAIL_CLAIMS,
    "konnect/id": ("id", "username"),
    "konnect/uuid": ("kc.uuid",),
    "groups": ("groups",),
}


def subject_for(user: User, provider: str, scopes: Iterable[str]) -> str:
    """The `sub` of ID tokens and userinfo: hashed, or raw with `konnect/raw_sub`."""
    if RAW_SUB in scopes:
        return user.subject
    return public_subject(user.subject, provider)


def display_name(user: User) -> str:
    if user.name:
        return user.name
    full = f"{user.given_name} {user.family_name}".strip()
    return full or user.username


def identity_claim(user: User, provider: str = "") -> dict[str, Any]:
    """`kc.identity` of access tokens: the raw ids Kopano services key users by."""
    if provider == GUEST_PROVIDER:
        return guest_identity_claim(user)
    return {"kc.i.id": user.subject, "kc.i.un": user.username, "kc.i.dn": display_name(user)}


def guest_identity_claim(user: User) -> dict[str, Any]:
    """A guest's `kc.identity`: marked as guest, with the details the client signed (`kc.i.da`),
    since no backend can look a guest up again."""
    details = {
        "n": user.name,
        "e": user.email,
        "nf": user.family_name,
        "ng": user.given_name,
    }
    data: dict[str, Any] = {key: value for key, value in details.items() if value}
    if user.email_verified:
        data["ev"] = 1
    return {"kc.i.id": user.subject, "kc.i.guest": True, "kc.i.da": data}


def guest_from_identity(identity: dict[str, Any]) -> User | None:
    """The guest a `kc.identity` describes (userinfo for guest access tokens)."""
    subject = identity.get("kc.i.id")
    data = identity.get("kc.i.da")
    if identity.get("kc.i.guest") is not True or not isinstance(subject, str) or not subject:
        return None
    details = data if isinstance(data, dict) else {}

    def text(key: str) -> str:
        value = details.get(key)
        return value if isinstance(value, str) else ""

    return User(
        subject=subject,
        username="",
        name=text("n"),
        email=text("e"),
        family_name=text("nf"),
        given_name=text("ng"),
        # Konnect's number; its own reader lost it on the way back, this one does not.
        email_verified=details.get("ev") == 1,
    )


def _requests(claims_request: Mapping[str, Any] | None, target: str) -> dict[str, Any]:
    wanted = claims_request.get(target) if claims_request else None
    return wanted if isinstance(wanted, dict) else {}


def claims_scopes(claims_request: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The scopes whose claims a `claims` request names, for ID token or userinfo."""
    named = set(_requests(claims_request, "id_token")) | set(_requests(claims_request, "userinfo"))
    return tuple(scope for scope, claims in SCOPE_CLAIMS.items() if named.intersection(claims))


def wants_auth_time(claims_request: Mapping[str, Any] | None) -> bool:
    return "auth_time" in _requests(claims_request, "id_token")


def requested_subjects(claims_request: Mapping[str, Any] | None) -> list[Any] | None:
    """The `sub` values the ID token must have (Core §5.5.1), or None when not pinned."""
    entry = _requests(claims_request, "id_token").get("sub")
    if not isinstance(entry, dict):
        return None
    if "value" in entry:
        return [entry["value"]]
    values = entry.get("values")
    return list(values) if isinstance(values, list) else None


def authentication_claims(grant: Grant) -> dict[str, Any]:
    """How the user signed in, for ID tokens, JWT access tokens (RFC 9068 §2.2.1) and
    introspection (RFC 9470 §6.2): `amr` when konnect saw the methods, `acr` with its
    `auth_time` when the request asked for an acr (`konnect.oidc.acr`)."""
    claims: dict[str, Any] = {}
    if grant.amr:
        claims["amr"] = list(grant.amr)
    if grant.acr:
        claims["acr"] = grant.acr
        claims["auth_time"] = grant.auth_time
    return claims


def user_claims(user: User, scopes: Iterable[str]) -> dict[str, Any]:
    """Profile, email and Konnect claims for the authorized scopes (empty values omitted)."""
    granted = set(scopes)
    claims: dict[str, Any] = {}
    if "profile" in granted:
        profile = {
            "name": display_name(user),
            "family_name": user.family_name,
            "given_name": user.given_name,
            "preferred_username": user.username,
        }
        claims.update({key: value for key, value in profile.items() if value})
    if "email" in granted:
        if user.email:
            claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    if "konnect/id" in granted:
        if user.numeric_id:
            claims["id"] = user.numeric_id
        claims["username"] = user.username
    if "konnect/uuid" in granted and user.uuid:
        claims["kc.uuid"] = user.uuid
    if "groups" in granted and user.groups:
        claims["groups"] = list(user.groups)
    return claims
