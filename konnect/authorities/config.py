"""The `authorities:` entries of the client registry, checked into frozen settings.

Keys and defaults are Konnect's, except `response_type`: the authorization code with PKCE
by default (Konnect asked for an ID token in the front channel). New keys:
`token_endpoint` and `end_session_endpoint`, for `discover: no`; `domains`, the e-mail
domains whose users a `login_hint` or `domain_hint` sends to this authority; and
`allow_upstream_only_users` with `upstream_user_claims`, for users who exist only there
(see `mapping`). A SAML 2.0 authority (`authority_type: saml2`) needs only the URL of its
identity provider's metadata (`metadata_endpoint`, else `iss`); `iss` picks the identity
provider in a federation's metadata, and `entity_id` names konnect as its service provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from konnect.authorities.mapping import USER_FIELDS, UserMapping
from konnect.config.errors import ConfigError

RESPONSE_TYPES = ("code", "id_token")
DEFAULT_SCOPES = ("openid", "profile")
AUTHORITY_TYPES = ("oidc", "saml2")
#: The attribute a SAML identity provider names the user by, unless configured (Konnect's).
SAML_IDENTITY_ATTRIBUTE = "uid"
_KEYS = {
    "id",
    "name",
    "authority_type",
    "iss",
    "client_id",
    "client_secret",
    "entity_id",
    "trusted",
    "insecure",
    "default",
    "discover",
    "scopes",
    "response_type",
    "code_challenge_method",
    "metadata_endpoint",
    "authorization_endpoint",
    "token_endpoint",
    "end_session_endpoint",
    "jwks",
    "identity_claim_name",
    "identity_aliases",
    "identity_alias_required",
    "end_session_enabled",
    "domains",
    "allow_upstream_only_users",
    "upstream_user_claims",
}


@dataclass(frozen=True)
class AuthoritySettings:
    """One upstream OpenID provider or SAML identity provider users may sign in with."""

    id: str
    name: str
    iss: str = ""
    client_id: str = ""
    authority_type: str = "oidc"
    client_secret: str = ""
    entity_id: str = ""
    trusted: bool = False
    insecure: bool = False
    default: bool = False
    discover: bool = True
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    response_type: str = "code"
    code_challenge_method: str = "S256"
    metadata_endpoint: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    end_session_endpoint: str = ""
    jwks: Mapping[str, Any] | None = None
    identity_claim_name: str = "preferred_username"
    identity_aliases: Mapping[str, str] = field(default_factory=dict)
    identity_alias_required: bool = False
    end_session_enabled: bool = False
    domains: tuple[str, ...] = ()
    allow_upstream_only_users: bool = False
    upstream_user_claims: Mapping[str, str] = field(default_factory=dict)

    @property
    def user_mapping(self) -> UserMapping:
        return UserMapping(
            self.id,
            self.identity_claim_name,
            self.identity_aliases,
            self.identity_alias_required,
            self.allow_upstream_only_users,
            self.upstream_user_claims,
        )

    @property
    def discovery_url(self) -> str:
        return self.metadata_endpoint or (
            self.iss.rstrip("/") + "/.well-known/openid-configuration"
        )

    @property
    def saml(self) -> bool:
        return self.authority_type == "saml2"


def read_authorities(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> list[AuthoritySettings]:
    """The authorities of the registry's `("file:line", entry)` pairs; ConfigError names
    every problem at once."""
    authorities: list[AuthoritySettings] = []
    problems: list[str] = []
    for where, entry in entries:
        authority, found = _authority(entry)
        problems.extend(f"{where}: {problem}" for problem in found)
        if authority is not None:
            if any(known.id == authority.id for known in authorities):
                problems.append(f"{where}: authority {authority.id!r} is registered twice")
            authorities.append(authority)
    if problems:
        raise ConfigError(problems)
    return authorities


def _authority(entry: Mapping[str, Any]) -> tuple[AuthoritySettings | None, list[str]]:
    name = _text(entry.get("name"))
    label = f"authority {_text(entry.get('id')) or name or '?'!r}"
    problems = [f"{label}: unknown key {key!r}" for key in entry if key not in _KEYS]
    values: dict[str, Any] = {}
    for key, kind in AuthoritySettings.__annotations__.items():
        if key in entry and entry[key] is not None:
            value, problem = _convert(entry[key], kind)
            if problem:
                problems.append(f"{label}: {key} {problem}")
            else:
                values[key] = value
    values.setdefault("id", name)
    values.setdefault("name", values["id"])
    if values.get("authority_type", "oidc") not in AUTHORITY_TYPES:
        problems.append(f"{label}: authority_type must be oidc or saml2")
    elif values.get("authority_type") == "saml2":
        values.setdefault("identity_claim_name", SAML_IDENTITY_ATTRIBUTE)
        problems.extend(f"{label}: {problem}" for problem in _missing_saml(values))
    else:
        problems.extend(f"{label}: {problem}" for problem in _missing(values))
    if problems:
        return None, problems
    values["domains"] = tuple(domain.lower() for domain in values.get("domains", ()))
    return AuthoritySettings(**values), []


def _convert(value: Any, kind: str) -> tuple[Any, str]:
    if kind == "str":
        return (value, "") if isinstance(value, str) else (None, "must be a string")
    if kind == "bool":
        return (value, "") if isinstance(value, bool) else (None, "must be yes or no")
    if kind == "tuple[str, ...]":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return (tuple(value), "") if ok else (None, "must be a list of strings")
    if kind == "Mapping[str, str]":
        ok = isinstance(value, dict) and all(
            isinstance(key, str) and isinstance(item, str) for key, item in value.items()
        )
        return (dict(value), "") if ok else (None, "must map names to names")
    ok = isinstance(value, dict) and isinstance(value.get("keys"), list)
    return (value, "") if ok else (None, "must be a JWK set (a mapping with `keys`)")


def _missing(values: Mapping[str, Any]) -> list[str]:
    problems = [f"{key} is required" for key in ("id", "iss", "client_id") if not values.get(key)]
    insecure = bool(values.get("insecure"))
    for key in ("iss", "metadata_endpoint", "authorization_endpoint", "token_endpoint"):
        url = values.get(key, "")
        if url and not acceptable_url(url, insecure):
            problems.append(f"{key} must be an https URL (http only with insecure: yes)")
    if values.get("response_type", "code") not in RESPONSE_TYPES:
        problems.append("response_type must be code or id_token")
    if values.get("code_challenge_method", "S256") not in ("S256", ""):
        problems.append("code_challenge_method must be S256")
    unknown = sorted(set(values.get("upstream_user_claims", {})) - set(USER_FIELDS))
    if unknown:
        problems.append(f"upstream_user_claims: unknown user fields {', '.join(unknown)}")
    if "openid" not in values.get("scopes", DEFAULT_SCOPES):
        problems.append("scopes must include openid")
    if values.get("discover", True) is False:
        needed = ["authorization_endpoint", "jwks"]
        if values.get("response_type", "code") == "code":
            needed.append("token_endpoint")
        problems.extend(
            f"{key} is required with discover: no" for key in needed if not values.get(key)
        )
    return problems


def _missing_saml(values: Mapping[str, Any]) -> list[str]:
    """A SAML authority's identity provider metadata is at `metadata_endpoint`, else `iss`."""
    url = values.get("metadata_endpoint") or values.get("iss", "")
    problems = [] if values.get("id") else ["id is required"]
    if not url:
        problems.append("metadata_endpoint (or iss) is required")
    elif not acceptable_url(url, bool(values.get("insecure"))):
        problems.append("metadata_endpoint must be an https URL (http only with insecure: yes)")
    entity_id = values.get("entity_id", "")
    if entity_id and not urlsplit(entity_id).scheme:
        problems.append("entity_id must be a URI")
    return problems


def acceptable_url(url: str, insecure: bool) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) and (parts.scheme == "https" or (insecure and parts.scheme == "http"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
