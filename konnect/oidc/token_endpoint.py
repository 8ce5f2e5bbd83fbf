"""The token endpoint on authlib's grants: client authentication, code + PKCE, refresh.

authlib's server is synchronous, so everything that needs I/O happens before a grant runs:
the code or refresh token is opened, its single use is claimed in the StateStore, and the
user is re-read from the backend. The grant hooks then only look at what was prefetched.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from konnect.clients import ClientRegistration
from konnect.clients.model import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_JWT,
    CLIENT_SECRET_POST,
    JWT_AUTH_METHODS,
    PRIVATE_KEY_JWT,
)
from konnect.crypto import random_string
from konnect.identity import UPSTREAM_PROVIDER, BackendUnavailable
from konnect.observe.events import backend_label
from konnect.oidc.account_epoch import EpochUnavailable, current_epoch
from konnect.oidc.client_auth import AssertedClient, ClientAssertions
from konnect.oidc.errors import OAuthError
from konnect.oidc.grant_lifecycle import check_refresh_epoch, check_refresh_level
from konnect.oidc.grants import Grant
from konnect.oidc.pkce import S256Verifier
from konnect.oidc.provider import Provider
from konnect.oidc.scopes import OFFLINE_ACCESS
from konnect.oidc.tokens import OpenedToken
from konnect.state import StateStoreUnavailable

__all__ = ["TokenEndpoint"]


class ClientModel:
    """authlib's view of a registered client."""

    def __init__(self, registration: ClientRegistration, provider: Provider) -> None:
        self.registration = registration
        self._provider = provider

    def get_client_id(self) -> str:
        return self.registration.id

    def check_client_secret(self, client_secret: str) -> bool:
        return self._provider.clients.verify_secret(self.registration, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        registered = self.registration.token_endpoint_auth_method
        if registered in JWT_AUTH_METHODS:
            return method == registered
        if self.registration.is_public:
            # Konnect accepts public clients with or without a (meaningless) secret.
            return True
        return method in (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST)

    def check_grant_type(self, grant_type: str) -> bool:
        registration = self.registration
        if grant_type == "client_credentials":
            # Only clients of the registry: an anonymous registration never acts for itself.
            return (
                not registration.dynamic
                and not registration.is_public
                and grant_type in registration.grant_types
            )
        if grant_type == "authorization_code" and registration.dynamic:
            return grant_type in registration.grant_types
        return grant_type in ("authorization_code", "refresh_token")

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return True

    def get_allowed_scope(self, scope: str) -> str:
        return scope


@dataclass
class Prefetched:
    """What the async part of the endpoint looked up before the grant ran."""

    asserted: AssertedClient | None = None  # a client proved by client_secret/private_key_jwt
    opened: OpenedToken | None = None  # the code, or the refresh token being used
    grant: Grant | None = None  # the grant to issue from, user re-read, next refresh id set


@functools.lru_cache(maxsize=16)
def _new_request_state(uri: str) -> dict[str, Any]:
    """The attributes authlib gives a new POST request to `uri`, built once per URL.

    authlib refuses a plain-http URL that is not loopback; whether the issuer may use http is
    konnect's decision, made (and warned about) at startup, so its check sees the https form."""
    scheme, separator, rest = uri.partition("://")
    checked = "https://" + rest if separator and scheme == "http" else uri
    return {**OAuth2Request("POST", checked).__dict__, "uri": uri}


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request over an already parsed, duplicate-free form body."""

    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        self.__dict__.update(_new_request_state(uri))  # authlib's __init__, its check cached
        self.headers = headers or {}
        self.payload = BasicOAuth2Payload(form)
        self._form = form
        self.prefetched = Prefetched()

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _CodeRecord:
    """authlib's view of an opened authorization code."""

    def __init__(self, grant: Grant) -> None:
        self.grant = grant

    def get_redirect_uri(self) -> str:
        return self.grant.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.grant.scopes)


class _RefreshRecord:
    def __init__(self, grant: Grant) -> None:
        self.grant = grant

    def check_client(self, client: ClientModel) -> bool:
        return self.grant.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return " ".join(self.grant.scopes)


#: Every method a confidential or public client may use at the token endpoint.
AUTH_METHODS = [CLIENT_SECRET_BASIC, CLIENT_SECRET_POST, CLIENT_SECRET_JWT, PRIVATE_KEY_JWT, "none"]


class _CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def query_authorization_code(self, code: str, client: ClientModel) -> _CodeRecord | None:
        grant = self.request.prefetched.grant
        if grant is None or grant.client_id != client.get_client_id():
            return None
        return _CodeRecord(grant)

    def delete_authorization_code(self, authorization_code: _CodeRecord) -> None:
        return None  # single use is claimed in the StateStore before the grant runs

    def authenticate_user(self, authorization_code: _CodeRecord) -> Grant:
        # The grant-state rules chose the refresh token's id after validation.
        return self.request.prefetched.grant or authorization_code.grant


class _RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> _RefreshRecord | None:
        grant = self.request.prefetched.grant
        return _RefreshRecord(grant) if grant is not None else None

    def authenticate_user(self, refresh_token: _RefreshRecord) -> Grant:
        # The grant-state rules chose the refresh token's id after validation.
        return self.request.prefetched.grant or refresh_token.grant

    def revoke_old_credential(self, refresh_token: _RefreshRecord) -> None:
        return None  # Konnect refresh tokens stay valid until they expire


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [m for m in AUTH_METHODS if m != "none"]


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self._provider = provider
        self.register_grant(_CodeGrant, [S256Verifier(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_grant(_ClientCredentialsGrant)
        self.register_token_generator("default", self._generate)
        for method in JWT_AUTH_METHODS:
            self.register_client_auth_method(method, self._asserted_client(method))

    def _asserted_client(self, method: str) -> Any:
        """authlib's hook for a JWT method: the client the assertion already proved."""

        def authenticate(query_client: Any, request: TokenRequest) -> ClientModel | None:
            asserted = request.prefetched.asserted
            if asserted is None or asserted.method != method:
                return None
            return ClientModel(asserted.client, self._provider)

        return authenticate

    def authenticate_client(
        self, request: TokenRequest, methods: list[str], endpoint: str = "token"
    ) -> ClientModel:
        """With an assertion only its method counts (a form cannot smuggle in another one);
        without one, the JWT methods cannot succeed."""
        asserted = request.prefetched.asserted
        if asserted is not None:
            methods = [asserted.method] if asserted.method in methods else []
        else:
            methods = [method for method in methods if method not in JWT_AUTH_METHODS]
        return super().authenticate_client(request, methods, endpoint)  # type: ignore[no-any-return]

    def query_client(self, client_id: str) -> ClientModel | None:
        registration = self._provider.clients.get(client_id)
        return ClientModel(registration, self._provider) if registration else None

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        return None

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def _generate(
        self,
        grant_type: str,
        client: ClientModel,
        user: Grant | None,
        scope: str | None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        alg = client.registration.id_token_signed_response_alg
        tokens = self._provider.tokens
        if user is None:
            return self._client_token(client, scope or "", alg)
        grant = user.with_scopes(tuple(scope.split())) if scope else user
        access_token = tokens.access_token(grant, alg)
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": tokens.access_lifetime(grant),
        }
        if grant_type == "authorization_code":
            response["id_token"] = tokens.id_token(grant, alg, access_token=access_token)
            if OFFLINE_ACCESS in grant.scopes:
                response["refresh_token"] = tokens.refresh_token(grant)
        elif not client.registration.reusable_refresh_tokens:
            response["refresh_token"] = tokens.refresh_token(grant)
        response["scope"] = " ".join(grant.scopes)
        return response

    def _client_token(self, client: ClientModel, scope: str, alg: str | None) -> dict[str, Any]:
        """client_credentials: a token for the client itself, no user and no refresh token.

        Its scopes are those of the client's `client_credentials_scopes` it asks for (all of
        them when it names none); others are left out (RFC 6749 §3.3)."""
        allowed = client.registration.client_credentials_scopes
        requested = scope.split() or allowed
        scopes = [name for name in dict.fromkeys(requested) if name in allowed]
        tokens = self._provider.tokens
        return {
            "access_token": tokens.client_access_token(client.get_client_id(), scopes, alg),
            "token_type": "Bearer",
            "expires_in": tokens.lifetimes.access_token,
            "scope": " ".join(scopes),
        }


class TokenEndpoint:
    """Runs one token request: async prefetch, then authlib's grant."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._server = _Server(provider)
        self._assertions = ClientAssertions(provider)
        self._uri = provider.endpoints.url(provider.endpoints.token)

    async def handle(
        self, form: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The token response; a refused request raises OAuthError."""
        request = TokenRequest(self._uri, headers, form)
        try:
            grant = self._server.get_token_grant(request)
            request.prefetched.asserted = await self._assertions.verify(form, headers, self._uri)
            await self._prefetch(request, form.get("grant_type", ""))
            grant.validate_token_request()
            client = grant.request.client.registration
            await self._use_grant(grant, request.prefetched)
            status, body, response_headers = await self._provider.signing(
                grant.create_token_response, client.id_token_signed_response_alg
            )
            if isinstance(grant, _CodeGrant):
                await self._code_answered(grant, request.prefetched, "refresh_token" in body)
        except (StateStoreUnavailable, EpochUnavailable) as exc:
            self._provider.log.error("token request refused, a store is unavailable: %s", exc)
            raise OAuthError("temporarily_unavailable", _UNAVAILABLE) from None
        except OAuth2Error as error:
            raise from_authlib(error) from None
        if status == 200:
            self._issued(form.get("grant_type", ""), client, request.prefetched, body)
        return status, body, response_headers

    def _issued(
        self, grant_type: str, client: ClientRegistration, prefetched: Prefetched, body: Any
    ) -> None:
        user = prefetched.grant.user.username if prefetched.grant else None
        alg = self._provider.keys.signing_alg_for(client.id_token_signed_response_alg)
        scopes = str(body.get("scope", ""))
        self._provider.events.token_issued(
            grant_type, client.id, not client.verified, alg, scopes, user
        )

    async def authenticate(
        self, form: dict[str, str], headers: Mapping[str, str], endpoint: str, url: str
    ) -> ClientRegistration:
        """Client authentication for revocation and introspection at `url` (confidential
        clients, and for revocation public ones by client_id). Raises OAuthError."""
        methods = [method for method in AUTH_METHODS if method != "none"]
        if endpoint == "revocation":
            methods.append("none")
        request = TokenRequest(url, headers, form)
        request.prefetched.asserted = await self._assertions.verify(form, headers, url)
        try:
            client: ClientModel = self._server.authenticate_client(request, methods, endpoint)
        except OAuth2Error as error:
            raise from_authlib(error) from None
        return client.registration

    async def _prefetch(self, request: TokenRequest, grant_type: str) -> None:
        tokens = self._provider.tokens
        if grant_type == "authorization_code":
            opened = tokens.open_code(request.form.get("code", ""))
        elif grant_type == "refresh_token":
            opened = tokens.open_refresh_token(request.form.get("refresh_token", ""))
        else:
            return
        if opened is None:
            return
        request.prefetched.opened = opened
        current: Grant | None = opened.grant
        if grant_type == "refresh_token":
            current = await self._current_grant(opened.grant)
        if current is not None:
            request.prefetched.grant = replace(current, next_refresh_id=random_string(16))

    async def _use_grant(self, grant: grants.BaseGrant, prefetched: Prefetched) -> None:
        """The grant-state rule of this request: a code's single use, a refresh's rotation."""
        lifecycle = self._provider.lifecycle
        if isinstance(grant, _RefreshGrant):
            issuing = _issuing(prefetched)
            check_refresh_level(
                issuing,
                grant.request.client.registration,
                mfa_on=self._provider.second_factors is not None,
            )
            epoch = await current_epoch(self._provider, issuing.provider, issuing.user.subject)
            check_refresh_epoch(issuing, epoch)
        if isinstance(grant, _CodeGrant):
            client_id = grant.request.client.get_client_id()
            verifier = grant.request.form.get("code_verifier", "")
            refresh_id = await lifecycle.redeem_code(_opened(prefetched), client_id, verifier)
        elif isinstance(grant, _RefreshGrant) and not _reusable(grant):
            refresh_id = await lifecycle.rotate(_opened(prefetched), _issuing(prefetched))
        else:
            return
        # The grant-state rules choose the id of the refresh token to issue.
        prefetched.grant = replace(_issuing(prefetched), next_refresh_id=refresh_id)

    async def _code_answered(
        self, grant: grants.BaseGrant, prefetched: Prefetched, with_refresh_token: bool
    ) -> None:
        lifecycle = self._provider.lifecycle
        if with_refresh_token:
            await lifecycle.start_family(_issuing(prefetched))
        verifier = grant.request.form.get("code_verifier", "")
        client_id = grant.request.client.get_client_id()
        await lifecycle.code_answered(_opened(prefetched), client_id, verifier)

    async def _current_grant(self, grant: Grant) -> Grant | None:
        """The refresh token's grant with the user as the backend sees them now (a user who
        exists only upstream: as granted, while their authority admits such users)."""
        if await self._provider.lifecycle.is_revoked(grant.grant_id):
            return None
        if grant.provider == UPSTREAM_PROVIDER:
            admitted = self._provider.upstream_users.current(grant.user)
            return None if admitted is None else grant
        backend = self._provider.backend
        timed = self._provider.events.backend_call(
            backend_label(backend), "lookup", BackendUnavailable
        )
        try:
            async with timed:
                user = await backend.lookup(grant.user.subject)
        except BackendUnavailable:
            raise OAuthError(
                "temporarily_unavailable", "the user directory is unavailable, try again later"
            ) from None
        if user is None:
            return None
        return replace(grant, user=user)


def _reusable(grant: grants.BaseGrant) -> bool:
    """Konnect-style refresh tokens: the client keeps reusing one, no rotation."""
    return bool(grant.request.client.registration.reusable_refresh_tokens)


def _opened(prefetched: Prefetched) -> OpenedToken:
    if prefetched.opened is None:  # validate_token_request already refused such a request
        raise OAuthError("invalid_grant", "invalid code")
    return prefetched.opened


def _issuing(prefetched: Prefetched) -> Grant:
    if prefetched.grant is None:  # validate_token_request already refused such a request
        raise OAuthError("invalid_grant")
    return prefetched.grant


_UNAVAILABLE = "the service is temporarily unavailable, try again later"


def from_authlib(error: OAuth2Error) -> OAuthError:
    """An error raised inside authlib's engine as konnect's own: same code, text and status."""
    code = error.error or "invalid_request"
    return OAuthError(code, error.description or "", status=error.status_code)
