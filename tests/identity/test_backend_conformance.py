"""One contract, every password backend: the users file and LDAP (a real slapd) answer the same
questions the same way, so the sign-in API, refresh and proxy sign-on can rely on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from konnect.identity import (
    BrowserSignIn,
    IdentityBackend,
    PasswordLogon,
    UserLookup,
    UsernameLookup,
)
from konnect.identity.cookie import CookieBackend
from konnect.identity.dummy import DummyBackend
from konnect.identity.ldap import LdapBackend, load_ldap_settings
from konnect.identity.users_file import UsersFileBackend
from tests.conftest import PASSWORD
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import Slapd

T = TypeVar("T")
# Both fixtures hold `jonas` (Jonas Brekke, this password) and `timmothy`, who is disabled.
BACKENDS = ["users file", "ldap"]


@pytest.fixture(params=BACKENDS)
def make_backend(request: pytest.FixtureRequest, config_dir: Path) -> Iterator[IdentityBackend]:
    if request.param == "ldap":
        slapd: Slapd = request.getfixturevalue("slapd")
        yield LdapBackend(load_ldap_settings(ldap_env(slapd)))
    else:
        yield UsersFileBackend.from_file(config_dir / "users.yaml")


def run(backend: IdentityBackend, work: Callable[[IdentityBackend], Awaitable[T]]) -> T:
    async def scenario() -> T:
        try:
            return await work(backend)
        finally:
            await backend.close()

    return asyncio.run(scenario())


def test_the_right_password_signs_in_and_the_user_can_be_found_again(
    make_backend: IdentityBackend,
) -> None:
    async def work(backend: IdentityBackend) -> None:
        user = await backend.logon("jonas", PASSWORD)
        assert user is not None
        assert (user.username, user.name) == ("jonas", "Jonas Brekke")
        assert await backend.lookup(user.subject) == user
        assert isinstance(backend, UsernameLookup)
        assert await backend.lookup_username("jonas") == user
        assert await backend.logon("JONAS", PASSWORD) == user  # login names ignore case

    run(make_backend, work)


@pytest.mark.parametrize(
    ("username", "password"),
    [("jonas", "wrong"), ("jonas", ""), ("ghost", PASSWORD), ("timmothy", PASSWORD), ("", "")],
)
def test_failures_all_look_the_same(
    make_backend: IdentityBackend, username: str, password: str
) -> None:
    assert run(make_backend, lambda backend: backend.logon(username, password)) is None


@pytest.mark.parametrize("name", ["ghost", "timmothy", "*", ""])
def test_unknown_and_disabled_users_are_not_found(make_backend: IdentityBackend, name: str) -> None:
    async def work(backend: IdentityBackend) -> tuple[object, object]:
        assert isinstance(backend, UsernameLookup)
        return await backend.lookup(name), await backend.lookup_username(name)

    assert run(make_backend, work) == (None, None)


def test_every_backend_says_what_it_can_do() -> None:
    capabilities = (PasswordLogon, UserLookup, UsernameLookup, BrowserSignIn)

    def abilities(kind: type) -> list[bool]:
        return [issubclass(kind, capability) for capability in capabilities]

    for password_backend in (UsersFileBackend, LdapBackend):
        assert abilities(password_backend) == [True, True, True, False]
    for browser_backend in (CookieBackend, DummyBackend):
        assert abilities(browser_backend) == [True, True, False, True]
