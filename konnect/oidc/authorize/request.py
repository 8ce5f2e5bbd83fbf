"""Step 1 of the authorization endpoint: the client, its redirect_uri and the request.

OpenID Connect Core §3.1.2.1 (the authentication request) and RFC 6749 §4.1.1: the client
and its redirect_uri are verified first (RFC 6749 §4.1.2.1), taking a redirect_uri that only
a request object carries (Core §6.1) after its signature is checked; then every parameter is
parsed once into an `AuthorizeRequest`: response type and mode (OAuth 2.0 Multiple Response
Types), scopes, prompt, max_age (else the client's default_max_age), the PKCE challenge
(`konnect.oidc.pkce`), id_token_hint, the claims request (Core §5.5) and what it asks of the
authentication level (`konnect.oidc.acr`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from konnect.clients import ClientLookupError, ClientRegistration
from konnect.oidc.acr import AcrRequest, acr_request
from konnect.oidc.claims import claims_scopes
from konnect.oidc.errors import OAuthError
from konnect.oidc.id_token_hint import hint_claims
from konnect.oidc.pkce import requested_challenge
from konnect.oidc.provider import Provider
from konnect.oidc.request_object import fetched_request, merge, verified_claims
from konnect.oidc.scopes import OPENID
from konnect.strict_json import parse_json

RESPONSE_TYPES = (
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
)
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})


@dataclass(frozen=True)
class AuthorizeRequest:
    """The authorization request, parsed once; `params` keeps what the browser sent."""

    client: ClientRegistration
    redirect_uri: str
    response_type: str
    response_mode: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    prompt: frozenset[str]
    max_age: int | None
    code_challenge: str
    hint_subject: str | None
    claims: dict[str, Any] | None
    consent_ref: str
    params: Mapping[str, str]  # as the browser sent them (a request object stays one)
    signed_request: bool = False
    request_object: Mapping[str, Any] | None = None  # a signed object's verified claims
    acr: AcrRequest = field(default_factory=AcrRequest)

    @property
    def returns_code(self) -> bool:
        return "code" in self.response_type.split()


def verify_client(provider: Provider, params: Mapping[str, str]) -> ClientRegistration:
    """RFC 6749 §4.1.2.1: unknown client or redirect_uri -> an error page, never a redirect."""
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if not client_id:
        raise OAuthError("invalid_request", "client_id is missing")
    if not redirect_uri:
        raise OAuthError("invalid_request", "redirect_uri is missing")
    parts = urlsplit(redirect_uri)
    if not parts.scheme or not parts.netloc or parts.fragment:
        raise OAuthError("invalid_request", "redirect_uri is not a valid absolute URI")
    try:
        return provider.clients.lookup(client_id, redirect_uri)
    except ClientLookupError as exc:
        raise OAuthError("invalid_request", str(exc)) from None


async def with_redirect_uri(provider: Provider, params: Mapping[str, str]) -> Mapping[str, str]:
    """The parameters with the redirect_uri that a request object alone carries (Core §6.1).

    The object is verified with the client's keys before its redirect_uri is trusted; until
    the redirect_uri is verified, any error is shown as a page.
    """
    client = provider.clients.get(params.get("client_id", ""))
    by_object = "request" in params or "request_uri" in params
    if params.get("redirect_uri") or not by_object or client is None:
        return params
    params = await fetched_request(provider, params)
    claims, _signed = await verified_claims(provider, params["request"], client)
    redirect_uri = claims.get("redirect_uri")
    if not isinstance(redirect_uri, str):
        return params
    return {**params, "redirect_uri": redirect_uri}


def default_response_mode(response_type: str) -> str:
    """Tokens travel in the fragment; codes and errors of token-less requests in the query."""
    return "fragment" if {"token", "id_token"} & set(response_type.split()) else "query"


async def parse_request(
    provider: Provider,
    original: Mapping[str, str],
    client: ClientRegistration,
    received: Mapping[str, str],
) -> AuthorizeRequest:
    """The request from `original` (the received parameters, with a redirect_uri taken from a
    request object); `received` is kept for the sign-in web app, which sees only those."""
    params, signed, request_object = await fetched_request(provider, original), False, None
    if "request" in params:
        claims, signed = await verified_claims(provider, params["request"], client)
        params = merge(params, claims)
        request_object = claims if signed else None
    if "registration" in params:
        raise OAuthError("registration_not_supported", "registration is not supported")
    response_type = _response_type(params)
    if not _response_type_registered(client, response_type):
        raise OAuthError("unauthorized_client", "the client did not register this response_type")
    claims_request = _claims(params)
    scopes = _with_claims_scopes(_scopes(params), claims_request)
    prompt = _prompt(params)
    nonce = params.get("nonce", "")
    if "id_token" in response_type.split() and not nonce:
        raise OAuthError("invalid_request", "nonce is required when an ID token is returned")
    return AuthorizeRequest(
        client=client,
        redirect_uri=params["redirect_uri"],
        response_type=response_type,
        response_mode=_response_mode(params, response_type),
        scopes=scopes,
        state=params.get("state", ""),
        nonce=nonce,
        prompt=prompt,
        max_age=_max_age(params, client),
        code_challenge=requested_challenge(params, client, response_type),
        hint_subject=_hint_subject(provider, params),
        claims=claims_request,
        consent_ref=params.get("konnect", ""),
        params=received,
        signed_request=signed,
        request_object=request_object,
        acr=acr_request(
            params.get("acr_values"), claims_request, client.default_acr_values, provider.acr
        ),
    )


def _response_type(params: Mapping[str, str]) -> str:
    raw = params.get("response_type", "")
    normalized = " ".join(sorted(raw.split()))
    if not raw:
        raise OAuthError("invalid_request", "response_type is missing")
    if normalized not in RESPONSE_TYPES:
        raise OAuthError("unsupported_response_type", "response_type is not supported")
    return normalized


def _response_type_registered(client: ClientRegistration, response_type: str) -> bool:
    """Dynamic clients, and registry clients that list `response_types`, get only those: a
    client that never takes tokens from the front channel cannot be made to (RFC 9700 §2.1.2)."""
    if not client.dynamic and not client.response_types:
        return True
    registered = {" ".join(sorted(value.split())) for value in client.response_types}
    return response_type in registered


def error_mode(params: Mapping[str, str]) -> str:
    """How to deliver an error found before the request is fully parsed."""
    try:
        return _response_mode(params, " ".join(sorted(params.get("response_type", "").split())))
    except OAuthError:
        return default_response_mode(params.get("response_type", ""))


def _response_mode(params: Mapping[str, str], response_type: str) -> str:
    mode = params.get("response_mode", "")
    if not mode:
        return default_response_mode(response_type)
    if mode not in RESPONSE_MODES:
        raise OAuthError("invalid_request", "response_mode is not supported")
    if mode == "query" and response_type != "code":
        # OAuth 2.0 Multiple Response Types §2.1: tokens never travel in a query.
        raise OAuthError("invalid_request", "response_mode query is not allowed with tokens")
    return mode


def _scopes(params: Mapping[str, str]) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
    if OPENID not in scopes:
        raise OAuthError("invalid_scope", "the openid scope is required")
    return scopes


def _with_claims_scopes(scopes: tuple[str, ...], claims: dict[str, Any] | None) -> tuple[str, ...]:
    """A claim asked for by name requests its scope: consent shows it like any other."""
    return tuple(dict.fromkeys((*scopes, *claims_scopes(claims))))


def _prompt(params: Mapping[str, str]) -> frozenset[str]:
    prompt = frozenset(params.get("prompt", "").split())
    unknown = prompt - PROMPTS
    if unknown:
        raise OAuthError("invalid_request", "prompt has an unknown value")
    if "none" in prompt and len(prompt) > 1:
        raise OAuthError("invalid_request", "prompt none cannot be combined with other values")
    return prompt


def _max_age(params: Mapping[str, str], client: ClientRegistration) -> int | None:
    """The request's max_age, else the client's default_max_age (OIDC Registration §2)."""
    raw = params.get("max_age")
    if raw is None:
        return client.default_max_age
    if not raw.isdigit() or len(raw) > 10:
        raise OAuthError("invalid_request", "max_age must be a non-negative integer")
    return int(raw)


def _hint_subject(provider: Provider, params: Mapping[str, str]) -> str | None:
    hint = hint_claims(provider, params)
    return None if hint is None else str(hint["sub"])


def _claims(params: Mapping[str, str]) -> dict[str, Any] | None:
    return parse_claims(params.get("claims"))


def parse_claims(raw: str | None) -> dict[str, Any] | None:
    """The `claims` request parameter (Core §5.5) as an object; None when absent."""
    if raw is None:
        return None
    try:
        claims = parse_json(raw)
    except ValueError:
        raise OAuthError("invalid_request", "claims is not valid JSON") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_request", "claims must be a JSON object")
    return claims
