"""The client registration record and turning one registry entry into it: the keys Konnect's
registry knows, read by `konnect.clients.metadata`, and the values an entry needs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from konnect.clients.metadata import REGISTRY_RULES, EntryProblem, MetadataReader

WEB = "web"
NATIVE = "native"
APPLICATION_TYPES = (WEB, NATIVE)

#: JWS algorithms a client may name for anything it signs or wants signed.
SIGNING_ALGS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)

#: HMAC algorithms, only for client_secret_jwt assertions.
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"
CLIENT_SECRET_JWT = "client_secret_jwt"
PRIVATE_KEY_JWT = "private_key_jwt"
#: Token endpoint client authentication methods (OpenID Connect Core §9), in that order.
TOKEN_ENDPOINT_AUTH_METHODS = (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    CLIENT_SECRET_JWT,
    PRIVATE_KEY_JWT,
    "none",
)
JWT_AUTH_METHODS = (CLIENT_SECRET_JWT, PRIVATE_KEY_JWT)

#: Every key of a registry entry that Konnect documents, `response_types`, `logo_uri`,
#: `policy_uri`, `tos_uri`, `jwks_uri`, `request_uris` and the logout channel URIs.
KNOWN_KEYS = frozenset(
    {
        "id",
        "secret",
        "name",
        "trusted",
        "trusted_scopes",
        "insecure",
        "application_type",
        "redirect_uris",
        "origins",
        "jwks",
        "jwks_uri",
        "request_object_signing_alg",
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "token_endpoint_auth_method",
        "token_endpoint_auth_signing_alg",
        "grant_types",
        "response_types",
        "post_logout_redirect_uris",
        "contacts",
        "uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "request_uris",
        "reusable_refresh_tokens",
        "frontchannel_logout_uri",
        "frontchannel_logout_session_required",
        "backchannel_logout_uri",
        "backchannel_logout_session_required",
        "client_credentials_scopes",
        "resource_server",
        "default_acr_values",
        "default_max_age",
        "require_auth_time",
        "mfa",
    }
)
#: A client's `mfa:`: its users must give a second factor, or those who have one do.
CLIENT_MFA_LEVELS = ("required", "optional")


@dataclass(frozen=True)
class ClientRegistration:
    """One relying party as the registry knows it."""

    id: str
    secret: str | None = None
    name: str = ""
    trusted: bool = False
    trusted_scopes: tuple[str, ...] = ()
    insecure: bool = False
    application_type: str = WEB
    redirect_uris: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    jwks: Mapping[str, Any] | None = field(default=None, hash=False)
    request_object_signing_alg: str | None = None
    id_token_signed_response_alg: str | None = None
    userinfo_signed_response_alg: str | None = None
    token_endpoint_auth_method: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    grant_types: tuple[str, ...] = ()
    response_types: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    # Konnect's behaviour: a refresh token is not rotated and stays usable until it expires.
    reusable_refresh_tokens: bool = False
    uri: str = ""
    logo_uri: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    jwks_uri: str = ""
    # Where the client may keep request objects for `request_uri` (only these are fetched).
    request_uris: tuple[str, ...] = ()
    frontchannel_logout_uri: str = ""
    frontchannel_logout_session_required: bool = False
    backchannel_logout_uri: str = ""
    backchannel_logout_session_required: bool = False
    # What the client gets for itself with client_credentials; the operator decides.
    client_credentials_scopes: tuple[str, ...] = ()
    # May introspect every client's access tokens (others only their own).
    resource_server: bool = False
    # OIDC Registration §2: acr values asked for when a request names none (voluntary), the
    # max_age of requests without one, and auth_time in every ID token.
    default_acr_values: tuple[str, ...] = ()
    default_max_age: int | None = None
    require_auth_time: bool = False
    # "required" or "optional" (the users who have a second factor give it); "": the default.
    mfa: str = ""
    implicit: bool = False
    dynamic: bool = False

    @property
    def is_public(self) -> bool:
        """No credentials: neither a secret nor keys for private_key_jwt."""
        return self.secret is None and self.token_endpoint_auth_method != PRIVATE_KEY_JWT

    @property
    def has_public_keys(self) -> bool:
        """Keys to verify what the client signs: a non-empty `jwks`, or a `jwks_uri`."""
        return bool(self.jwks and self.jwks.get("keys")) or bool(self.jwks_uri)

    @property
    def verified(self) -> bool:
        """Registered by the operator, not by itself (dynamic) or by its redirect URI."""
        return not (self.dynamic or self.implicit)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class ClientLookupError(Exception):
    """A client or its redirect URI or origin was refused; `str()` is safe to show."""


def _jws_algs(*, none_allowed: bool = False, hmac: bool = False) -> frozenset[str]:
    """The algorithms a registry entry may name: asymmetric ones, HMAC or `none` where fit."""
    return SIGNING_ALGS | (HMAC_ALGS if hmac else set()) | ({"none"} if none_allowed else set())


def _unknown_key_problems(entry: Mapping[Any, Any]) -> list[EntryProblem]:
    problems = []
    for key in entry:
        if key in KNOWN_KEYS:
            continue
        hint = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        problems.append(EntryProblem(f"unknown key {str(key)!r}{suffix}", str(key)))
    return problems


def client_from_entry(
    entry: Mapping[Any, Any],
) -> tuple[ClientRegistration | None, list[EntryProblem]]:
    """Build a registration from one parsed entry; None when it has no usable id.

    Checks keys, value types and required values. The rules for redirect URIs and origins
    live in `konnect.clients.redirects`.
    """
    read = MetadataReader(entry, REGISTRY_RULES)
    client = ClientRegistration(
        id=read.text("id") or "",
        secret=read.text("secret"),
        name=read.text("name") or "",
        trusted=read.flag("trusted"),
        trusted_scopes=read.texts("trusted_scopes"),
        insecure=read.flag("insecure"),
        application_type=read.text("application_type") or WEB,
        redirect_uris=read.texts("redirect_uris"),
        origins=read.texts("origins"),
        jwks=read.jwks(),
        jwks_uri=read.text("jwks_uri") or "",
        request_object_signing_alg=read.alg(
            "request_object_signing_alg", _jws_algs(none_allowed=True)
        ),
        id_token_signed_response_alg=read.alg("id_token_signed_response_alg", SIGNING_ALGS),
        userinfo_signed_response_alg=read.alg("userinfo_signed_response_alg", SIGNING_ALGS),
        token_endpoint_auth_method=read.text("token_endpoint_auth_method"),
        token_endpoint_auth_signing_alg=read.alg(
            "token_endpoint_auth_signing_alg", _jws_algs(hmac=True)
        ),
        grant_types=read.texts("grant_types"),
        response_types=read.texts("response_types"),
        post_logout_redirect_uris=read.texts("post_logout_redirect_uris"),
        contacts=read.texts("contacts"),
        uri=read.text("uri") or "",
        logo_uri=read.text("logo_uri") or "",
        policy_uri=read.text("policy_uri") or "",
        tos_uri=read.text("tos_uri") or "",
        request_uris=read.texts("request_uris"),
        reusable_refresh_tokens=read.flag("reusable_refresh_tokens"),
        frontchannel_logout_uri=read.text("frontchannel_logout_uri") or "",
        frontchannel_logout_session_required=read.flag("frontchannel_logout_session_required"),
        backchannel_logout_uri=read.text("backchannel_logout_uri") or "",
        backchannel_logout_session_required=read.flag("backchannel_logout_session_required"),
        client_credentials_scopes=read.texts("client_credentials_scopes"),
        resource_server=read.flag("resource_server"),
        default_acr_values=read.texts("default_acr_values"),
        default_max_age=read.seconds("default_max_age"),
        require_auth_time=read.flag("require_auth_time"),
        mfa=read.choice("mfa", CLIENT_MFA_LEVELS),
    )
    problems = _unknown_key_problems(entry) + read.problems
    problems += _required_value_problems(client, read.bad_keys)
    return (client if client.id else None), problems


def _is_http_url(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in uri


def _required_value_problems(client: ClientRegistration, bad_keys: set[str]) -> list[EntryProblem]:
    problems = []
    if not client.id and "id" not in bad_keys:
        problems.append(EntryProblem("id is required", "id"))
    if client.secret == "":
        reason = "secret must not be empty (leave it out for a public client)"
        problems.append(EntryProblem(reason, "secret"))
    if client.application_type not in APPLICATION_TYPES:
        reason = f"application_type {client.application_type!r} is not one of: web, native"
        problems.append(EntryProblem(reason, "application_type"))
    if not client.redirect_uris and not client.insecure and "redirect_uris" not in bad_keys:
        reason = "redirect_uris is required (unless insecure: yes)"
        problems.append(EntryProblem(reason, "redirect_uris"))
    if not all(_is_http_url(uri) for uri in client.request_uris):
        problems.append(EntryProblem("request_uris must be http(s) URLs", "request_uris"))
    alg = client.request_object_signing_alg
    if alg not in (None, "none") and not client.has_public_keys:
        reason = f"request_object_signing_alg {alg} needs keys to verify with (jwks or jwks_uri)"
        problems.append(EntryProblem(reason, "request_object_signing_alg"))
    return problems + [
        EntryProblem(reason, "token_endpoint_auth_method")
        for reason in auth_method_problems(client, bad_keys)
    ]


def auth_method_problems(client: ClientRegistration, bad_keys: set[str] | None = None) -> list[str]:
    """What does not fit the client's token endpoint authentication method and its alg."""
    method = client.token_endpoint_auth_method
    if method is None or "token_endpoint_auth_method" in (bad_keys or set()):
        return []
    if method not in TOKEN_ENDPOINT_AUTH_METHODS:
        known = ", ".join(TOKEN_ENDPOINT_AUTH_METHODS)
        return [f"token_endpoint_auth_method {method!r} is not one of: {known}"]
    alg = client.token_endpoint_auth_signing_alg
    if method == CLIENT_SECRET_JWT:
        # RFC 7518 §3.2: an HMAC key at least as long as the hash output.
        if client.secret is None or len(client.secret.encode()) < 32:
            return ["client_secret_jwt needs a secret of at least 32 characters"]
        if alg is not None and alg not in HMAC_ALGS:
            return [f"client_secret_jwt signs with HS256, HS384 or HS512, not {alg}"]
        needed = int(alg[2:]) // 8 if alg is not None else 32
        if len(client.secret.encode()) < needed:
            return [f"client_secret_jwt with {alg} needs a secret of at least {needed} characters"]
    elif method == PRIVATE_KEY_JWT:
        if not (client.jwks and client.jwks.get("keys")) and not client.jwks_uri:
            return ["private_key_jwt needs the client's public keys in jwks or jwks_uri"]
        if alg is not None and alg not in SIGNING_ALGS:
            return [f"private_key_jwt signs with an asymmetric algorithm, not {alg}"]
    return []
