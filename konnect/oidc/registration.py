"""Dynamic client registration (RFC 7591, OpenID Connect Dynamic Client Registration 1.0) and
reading a registration back (RFC 7592 §2.1).

The metadata is read by the client registry's reader (`konnect.clients.metadata`) with RFC
7591's limits, and checked here, field by field, with the same redirect URI rules as the client
registry; `konnect.clients.dynamic` turns the result into a self-contained client id. Being
stateless, a registration cannot be changed or deleted (RFC 7592 §2.2 and §2.3 answer 405).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NoReturn

from konnect.clients import ClientRegistration
from konnect.clients.dynamic import SECRET_LENGTH, DynamicRegistration, RegistrationTooLarge
from konnect.clients.metadata import REGISTRATION_RULES, EntryProblem, MetadataReader
from konnect.clients.model import (
    APPLICATION_TYPES,
    CLIENT_MFA_LEVELS,
    CLIENT_SECRET_BASIC,
    PRIVATE_KEY_JWT,
    TOKEN_ENDPOINT_AUTH_METHODS,
    WEB,
    auth_method_problems,
)
from konnect.clients.redirects import is_loopback_http, parse_uri, registration_problems
from konnect.keys import ALL_ALGORITHMS, key_from_jwk
from konnect.oidc.authorize import RESPONSE_TYPES
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.outgoing import SECTOR_IDENTIFIER, FetchError
from konnect.strict_json import parse_json

GRANT_TYPES = ("authorization_code", "implicit", "refresh_token", "client_credentials")
_MAX_KEYS = 10
MAX_REQUEST_URIS = 8
#: Metadata asking for encrypted responses or request objects: konnect encrypts nothing.
_ENCRYPTION_FIELDS = (
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "request_object_encryption_alg",
    "request_object_encryption_enc",
)


def _metadata_error(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def _redirect_error(description: str) -> OAuthError:
    return OAuthError("invalid_redirect_uri", description)


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        metadata = parse_json(body)
    except ValueError:
        raise _metadata_error("the request body is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise _metadata_error("the request body must be a JSON object")
    return metadata


def _reader(metadata: Mapping[str, Any]) -> MetadataReader:
    """The metadata read by RFC 7591's rules; the first wrong value raises."""
    return MetadataReader(metadata, REGISTRATION_RULES, _refuse)


def _refuse(problem: EntryProblem) -> NoReturn:
    raise _metadata_error(problem.reason)


def _redirect_uris(read: MetadataReader) -> tuple[str, ...]:
    try:
        uris = read.texts("redirect_uris")
    except OAuthError:
        raise _redirect_error("redirect_uris must be a list of strings") from None
    if not uris:
        raise _redirect_error("redirect_uris is required")
    return uris


def _response_and_grant_types(read: MetadataReader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """OIDC Registration §2: every response type needs the grant type that yields it."""
    response_types = tuple(
        " ".join(sorted(value.split())) for value in read.texts("response_types", ("code",))
    )
    grant_types = read.texts("grant_types", ("authorization_code",))
    for value in response_types:
        if value not in RESPONSE_TYPES:
            raise _metadata_error(f"response_type {value!r} is not supported")
    for value in grant_types:
        if value not in GRANT_TYPES:
            raise _metadata_error(f"grant_type {value!r} is not supported")
    parts = {part for value in response_types for part in value.split()}
    if "code" in parts and "authorization_code" not in grant_types:
        raise _metadata_error("response_types with code need the authorization_code grant type")
    if parts & {"token", "id_token"} and "implicit" not in grant_types:
        raise _metadata_error("response_types with tokens need the implicit grant type")
    return response_types, grant_types


def _jwks(read: MetadataReader) -> dict[str, Any] | None:
    value = read.metadata.get("jwks")
    if value is None:
        return None
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > _MAX_KEYS:
        raise _metadata_error(f"jwks must be a JWK set with 1 to {_MAX_KEYS} keys")
    for key in keys:
        if not isinstance(key, dict) or "d" in key or key.get("kty") == "oct":
            raise _metadata_error("jwks must hold public keys only")
        try:
            key_from_jwk(key)
        except ValueError as exc:
            raise _metadata_error(f"jwks: {exc}") from None
    return {"keys": keys}


def _remote_uri(provider: Provider, read: MetadataReader, name: str) -> str:
    """A URL konnect itself calls: https; http only on a loopback host, and only while the
    issuer is a plain-http loopback one too (trying konnect out)."""
    uri = read.text(name, "")
    if uri and not _callable_uri(provider, uri):
        raise _metadata_error(f"{name} must be an https URL without a fragment")
    return uri


def _request_uris(provider: Provider, read: MetadataReader) -> tuple[str, ...]:
    """Where the client keeps request objects; a fragment (a hash of the content) may follow."""
    uris = read.texts("request_uris")
    if len(uris) > MAX_REQUEST_URIS:
        raise _metadata_error(f"at most {MAX_REQUEST_URIS} request_uris can be registered")
    for uri in uris:
        if not _callable_uri(provider, uri.split("#", 1)[0]):
            raise _metadata_error("request_uris must be https URLs")
    return uris


def _callable_uri(provider: Provider, uri: str) -> bool:
    parts = parse_uri(uri)
    trying_out = not provider.endpoints.secure
    return (
        parts is not None
        and "#" not in uri
        and parts.username is None
        and (parts.scheme == "https" or (trying_out and is_loopback_http(parts)))
    )


def _check_unsupported(read: MetadataReader) -> None:
    for name in _ENCRYPTION_FIELDS:
        if read.metadata.get(name) is not None:
            raise _metadata_error(f"{name}: encrypted responses are not supported")
    subject_type = read.text("subject_type", "public")
    if subject_type != "public":
        raise _metadata_error("subject_type must be public")


def _id_token_alg(read: MetadataReader, signing: list[str]) -> str:
    """OIDC Registration §2: ID tokens are RS256 unless the client registers another alg."""
    alg = read.alg("id_token_signed_response_alg", signing)
    if alg is None and "RS256" not in signing:
        raise _metadata_error(
            "id_token_signed_response_alg defaults to RS256, which this provider cannot sign; "
            f"register one of {', '.join(signing)}"
        )
    return alg or "RS256"


def client_from_metadata(provider: Provider, metadata: Mapping[str, Any]) -> ClientRegistration:
    """The registration the metadata asks for; OAuthError with the spec's error if invalid."""
    read = _reader(metadata)
    redirect_uris = _redirect_uris(read)
    response_types, grant_types = _response_and_grant_types(read)
    _check_unsupported(read)
    application_type = read.text("application_type", WEB)
    if application_type not in APPLICATION_TYPES:
        raise _metadata_error("application_type must be web or native")
    method = read.text("token_endpoint_auth_method", CLIENT_SECRET_BASIC)
    if method not in TOKEN_ENDPOINT_AUTH_METHODS:
        raise _metadata_error(f"token_endpoint_auth_method {method!r} is not supported")
    if "client_credentials" in grant_types:
        # Tokens a client gets for itself carry scopes an operator chose for it.
        raise _metadata_error("client_credentials is only for clients of the registry")
    jwks, jwks_uri = _jwks(read), _remote_uri(provider, read, "jwks_uri")
    if jwks is not None and jwks_uri:
        raise _metadata_error("jwks and jwks_uri cannot both be registered")
    signing = provider.keys.signing_algorithms
    client = ClientRegistration(
        id="",
        name=read.text("client_name", ""),
        application_type=application_type,
        redirect_uris=redirect_uris,
        jwks=jwks,
        jwks_uri=jwks_uri,
        request_object_signing_alg=read.alg(
            "request_object_signing_alg", [*ALL_ALGORITHMS, "none"]
        ),
        id_token_signed_response_alg=_id_token_alg(read, signing),
        userinfo_signed_response_alg=read.alg("userinfo_signed_response_alg", signing),
        token_endpoint_auth_method=method,
        token_endpoint_auth_signing_alg=read.text("token_endpoint_auth_signing_alg", "") or None,
        grant_types=grant_types,
        response_types=response_types,
        post_logout_redirect_uris=read.texts("post_logout_redirect_uris"),
        contacts=read.texts("contacts"),
        uri=read.text("client_uri", ""),
        logo_uri=read.text("logo_uri", ""),
        policy_uri=read.text("policy_uri", ""),
        tos_uri=read.text("tos_uri", ""),
        request_uris=_request_uris(provider, read),
        frontchannel_logout_uri=read.text("frontchannel_logout_uri", ""),
        frontchannel_logout_session_required=read.flag("frontchannel_logout_session_required"),
        backchannel_logout_uri=_remote_uri(provider, read, "backchannel_logout_uri"),
        backchannel_logout_session_required=read.flag("backchannel_logout_session_required"),
        default_acr_values=read.texts("default_acr_values"),
        default_max_age=read.seconds("default_max_age"),
        require_auth_time=read.flag("require_auth_time"),
        mfa=read.choice("mfa", CLIENT_MFA_LEVELS),
    )
    _check_rules(provider, client)
    return client


def _check_rules(provider: Provider, client: ClientRegistration) -> None:
    """The client registry's rules for URIs (stricter for a client registering itself),
    plus those of the authentication method."""
    for problem in registration_problems(client, self_registered=True):
        if problem.key == "redirect_uris":
            raise _redirect_error(problem.reason)
        raise _metadata_error(problem.reason)
    for uri in client.redirect_uris:
        if provider.clients.points_at_konnect(uri):
            raise _redirect_error(f"redirect URI {uri!r} must not lead back into this provider")
    for uri in client.post_logout_redirect_uris:
        if provider.clients.points_at_konnect(uri):
            raise _metadata_error(f"post logout URI {uri!r} must not lead back into this provider")
    # The secret is issued later, always long enough for client_secret_jwt.
    with_secret = replace(client, secret="x" * SECRET_LENGTH)
    for reason in auth_method_problems(with_secret):
        raise _metadata_error(reason)
    if client.request_object_signing_alg not in (None, "none") and not client.has_public_keys:
        raise _metadata_error("request_object_signing_alg needs the client's jwks or jwks_uri")


async def _check_sector_identifier(provider: Provider, metadata: Mapping[str, Any]) -> None:
    """OIDC Registration §5: the document at sector_identifier_uri lists every redirect URI."""
    uri = _remote_uri(provider, _reader(metadata), "sector_identifier_uri")
    if not uri:
        return
    try:
        listed = await provider.http.get_json(uri, SECTOR_IDENTIFIER, public_only=True)
    except FetchError as exc:
        listed, problem = None, str(exc)
    else:
        problem = "" if isinstance(listed, list) else f"{uri} holds no JSON array"
    if not problem and any(redirect not in listed for redirect in metadata["redirect_uris"]):
        problem = f"{uri} does not list every redirect URI"
    if problem:
        # One answer for every failure: what a server answered is never told back.
        provider.log.info("sector_identifier_uri refused: %s", problem)
        raise _metadata_error("sector_identifier_uri could not be read or lacks a redirect URI")


async def register(provider: Provider, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7591 §3.2.1: the registered client, its credentials and its metadata."""
    dynamic = provider.clients.dynamic
    if dynamic is None:
        raise OAuthError("not_found", "dynamic client registration is disabled")
    client = client_from_metadata(provider, metadata)
    await _check_sector_identifier(provider, metadata)
    try:
        # A secret only for methods that use one; private_key_jwt proves itself with keys.
        with_secret = client.token_endpoint_auth_method not in ("none", PRIVATE_KEY_JWT)
        registered = dynamic.register(client, with_secret=with_secret)
    except RegistrationTooLarge as exc:
        raise _metadata_error(str(exc)) from None
    provider.log.info("dynamic client registered: %s", registered.client.display_name[:60])
    provider.events.client_registered(registered.client.id, registered.client.redirect_uris)
    return registration_response(provider, registered)


def read_registration(provider: Provider, client_id: str, token: str) -> dict[str, Any]:
    """RFC 7592 §2.1: the registration, for the holder of its registration access token."""
    dynamic = provider.clients.dynamic
    registered = dynamic.open(client_id) if dynamic is not None else None
    if registered is None or not dynamic or not dynamic.access_token_matches(registered, token):
        raise OAuthError("invalid_token", "the registration access token is not valid")
    return registration_response(provider, registered)


def registration_response(provider: Provider, registered: DynamicRegistration) -> dict[str, Any]:
    client = registered.client
    endpoints = provider.endpoints
    body: dict[str, Any] = {
        "client_id": client.id,
        "client_id_issued_at": registered.issued_at,
        "registration_access_token": registered.registration_access_token,
        "registration_client_uri": endpoints.url(endpoints.registration) + "/" + client.id,
    }
    if client.secret is not None:
        body["client_secret"] = client.secret
        body["client_secret_expires_at"] = registered.expires_at
    metadata = {
        "client_name": client.name,
        "application_type": client.application_type,
        "redirect_uris": list(client.redirect_uris),
        "response_types": list(client.response_types),
        "grant_types": list(client.grant_types),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "request_object_signing_alg": client.request_object_signing_alg,
        "jwks": dict(client.jwks) if client.jwks else None,
        "jwks_uri": client.jwks_uri,
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "contacts": list(client.contacts),
        "client_uri": client.uri,
        "logo_uri": client.logo_uri,
        "policy_uri": client.policy_uri,
        "tos_uri": client.tos_uri,
        "request_uris": list(client.request_uris),
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "default_acr_values": list(client.default_acr_values),
        "require_auth_time": client.require_auth_time,
        "mfa": client.mfa,
    }
    body.update({name: value for name, value in metadata.items() if value})
    if client.frontchannel_logout_uri:
        body["frontchannel_logout_session_required"] = client.frontchannel_logout_session_required
    if client.backchannel_logout_uri:
        body["backchannel_logout_session_required"] = client.backchannel_logout_session_required
    if client.default_max_age is not None:
        body["default_max_age"] = client.default_max_age
    body["subject_type"] = "public"
    return body
