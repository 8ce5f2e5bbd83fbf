"""The one place that maps an identity-manager name to a backend factory."""

from __future__ import annotations

from collections.abc import Callable

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.identity.base import IdentityBackend
from konnect.identity.cookie import CookieBackend
from konnect.identity.ldap import LdapBackend, load_ldap_settings
from konnect.identity.users_file import UsersFileBackend


def _users_backend(settings: Settings) -> IdentityBackend:
    if settings.users_file is None:
        raise ConfigError(["identity manager 'users' needs a users file (users_file)"])
    return UsersFileBackend.from_file(settings.users_file)


def _ldap_backend(settings: Settings) -> IdentityBackend:
    return LdapBackend(load_ldap_settings(settings.backend_env, insecure=settings.insecure))


def _cookie_backend(settings: Settings) -> IdentityBackend:
    url, *names = settings.identity_manager_args
    return CookieBackend(
        url,
        tuple(" ".join(names).split()),
        verify=not settings.insecure,
        timeout=settings.cookie_backend_timeout,
    )


_FACTORIES: dict[str, Callable[[Settings], IdentityBackend]] = {
    "users": _users_backend,
    "ldap": _ldap_backend,
    "cookie": _cookie_backend,
}


def create_backend(settings: Settings) -> IdentityBackend:
    factory = _FACTORIES.get(settings.identity_manager)
    if factory is None:
        available = ", ".join(sorted(_FACTORIES))
        raise ConfigError(
            [
                f"identity manager '{settings.identity_manager}' is not available yet "
                f"(available: {available})"
            ]
        )
    return factory(settings)
