"""Dynamically registered clients, kept without server state: the client_id is the registration.

As in Konnect, a dynamic client id is `dyn.` followed by the registration itself. konnect seals
it (compressed JSON, AES-GCM with the encryption secret) instead of signing it, so that the
client secret and the registration access token can travel inside it too: the provider
recomputes nothing and stores nothing, yet can check a `client_secret`, verify a
`client_secret_jwt` assertion (which needs the secret itself) and serve RFC 7592 reads.
Changing the encryption secret therefore ends every dynamic registration.
"""

from __future__ import annotations

import hmac
import json
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from konnect.clients.model import ClientRegistration
from konnect.clients.redirects import with_default_origin
from konnect.crypto import Sealer, random_string

PREFIX = "dyn."
#: A client id travels in URLs; beyond this the registration is refused as too large.
MAX_CLIENT_ID_LENGTH = 4096
#: Long enough to be an HS512 key for client_secret_jwt (RFC 7518 §3.2).
SECRET_LENGTH = 64
_PURPOSE = "konnect-dynamic-client-v1"
_CACHE_SIZE = 512
#: What of a registration goes into its client id (everything an endpoint needs later).
_CARRIED = tuple(
    field.name
    for field in fields(ClientRegistration)
    if field.name not in ("id", "trusted", "trusted_scopes", "insecure", "implicit", "dynamic")
    and field.name not in ("origins", "reusable_refresh_tokens")
    # What only an operator grants (client_credentials scopes, introspecting every token).
    and field.name not in ("client_credentials_scopes", "resource_server")
)


@dataclass(frozen=True)
class DynamicRegistration:
    """A registered dynamic client and the credentials that only its registrant receives."""

    client: ClientRegistration
    registration_access_token: str
    issued_at: int
    expires_at: int  # 0: never


class RegistrationTooLarge(Exception):
    """The registration does not fit into a client id."""


class DynamicClients:
    """Creates dynamic client ids and reads them back, with a small cache of opened ids."""

    def __init__(
        self, sealer: Sealer, clock: Callable[[], float], secret_expiration: int = 0
    ) -> None:
        self._sealer = sealer
        self._clock = clock
        self._expiration = secret_expiration
        self._cache: OrderedDict[str, DynamicRegistration | None] = OrderedDict()

    def register(self, metadata: ClientRegistration, *, with_secret: bool) -> DynamicRegistration:
        """A new client id (and secret, for confidential clients) carrying `metadata`."""
        now = int(self._clock())
        record: dict[str, Any] = {
            name: _plain(getattr(metadata, name))
            for name in _CARRIED
            if not _unset(getattr(metadata, name))
        }
        record["secret"] = random_string(SECRET_LENGTH) if with_secret else None
        record["rat"] = random_string(43)
        record["iat"] = now
        record["exp"] = now + self._expiration if self._expiration > 0 else 0
        payload = zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 9)
        client_id = PREFIX + self._sealer.seal(payload, _PURPOSE)
        if len(client_id) > MAX_CLIENT_ID_LENGTH:
            raise RegistrationTooLarge("the registration is too large")
        opened = self.open(client_id)
        if opened is None:  # only if the clock jumped between sealing and opening
            raise RegistrationTooLarge("the registration expired at once")
        return opened

    def get(self, client_id: str) -> ClientRegistration | None:
        opened = self.open(client_id)
        return opened.client if opened is not None else None

    def open(self, client_id: str) -> DynamicRegistration | None:
        """The registration a dynamic client id carries; None if not ours or expired."""
        if not client_id.startswith(PREFIX) or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        if client_id in self._cache:
            self._cache.move_to_end(client_id)
            opened = self._cache[client_id]
        else:
            opened = self._open(client_id)
            self._cache[client_id] = opened
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        if opened is not None and 0 < opened.expires_at <= self._clock():
            return None
        return opened

    def _open(self, client_id: str) -> DynamicRegistration | None:
        payload = self._sealer.open(client_id[len(PREFIX) :], _PURPOSE)
        if payload is None:
            return None
        try:
            record = json.loads(zlib.decompress(payload))
            client = _client(client_id, record)
            return DynamicRegistration(client, str(record["rat"]), record["iat"], record["exp"])
        except (ValueError, TypeError, KeyError, zlib.error):
            return None

    def access_token_matches(self, registration: DynamicRegistration, token: str) -> bool:
        return hmac.compare_digest(registration.registration_access_token.encode(), token.encode())


def _unset(value: Any) -> bool:
    """Left out of the client id: nothing, or a default (a number 0 is a value)."""
    return value is None or value is False or value in ("", ())


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _client(client_id: str, record: Mapping[str, Any]) -> ClientRegistration:
    values: dict[str, Any] = {}
    for name in _CARRIED:
        if name not in record:
            continue
        value = record[name]
        values[name] = tuple(value) if isinstance(value, list) else value
    client = ClientRegistration(id=client_id, dynamic=True, **values)
    # Dynamic clients are never trusted (always consent) and never Konnect-legacy.
    return with_default_origin(replace(client, trusted=False))
