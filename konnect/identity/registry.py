"""The one place that maps an identity-manager name to a backend factory."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.identity.base import IdentityBackend
from konnect.identity.cookie import CookieBackend
from konnect.identity.users_file import UsersFileBackend


def _users_backend(settings: Settings) -> IdentityBackend:
    if settings.users_file is None:
        raise ConfigError(["identity manager 'users' needs a users file (users_file)"])
    return UsersFileBackend.from_file(settings.users_file)


def _cookie_backend(settings: Settings, http: httpx.AsyncClient | None) -> IdentityBackend:
    if http is None:
        raise ConfigError(["identity manager 'cookie' needs an HTTP client"])
    url, *names = settings.identity_manager_args
    return CookieBackend(url, tuple(" ".join(names).split()), http)


_FACTORIES: dict[str, Callable[[Settings, httpx.AsyncClient | None], IdentityBackend]] = {
    "users": lambda settings, _http: _users_backend(settings),
    "cookie": _cookie_backend,
}


def needs_http(settings: Settings) -> bool:
    """Whether the chosen backend talks HTTP (then the composition root builds a client)."""
    return settings.identity_manager == "cookie"


def create_backend(settings: Settings, http: httpx.AsyncClient | None = None) -> IdentityBackend:
    factory = _FACTORIES.get(settings.identity_manager)
    if factory is None:
        available = ", ".join(sorted(_FACTORIES))
        raise ConfigError(
            [
                f"identity manager '{settings.identity_manager}' is not available yet "
                f"(available: {available})"
            ]
        )
    return factory(settings, http)
