"""LDAP sign-in attempts against slapd: every spelling the directory matches, and every login
attribute, shares one account's count; unknown and disabled names cost a bind as well."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import MappingProxyType

import httpx

from konnect.identity.ldap import LdapBackend, load_ldap_settings
from tests.conftest import RunningServer, api_headers
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import PASSWORD, Slapd


def ldap_konnect(
    server_factory: Callable[..., RunningServer], directory: Slapd, **env: str
) -> RunningServer:
    return server_factory(
        identity_manager="ldap",
        users_file=None,
        backend_env=MappingProxyType(ldap_env(directory, **env)),
    )


def attempt(server: RunningServer, username: str, password: str = "wrong") -> int:
    response = httpx.post(
        server.url + "/signin/v1/identifier/_/logon",
        json={"state": "s", "params": [username, password, "1"]},
        headers=api_headers(server.url),
    )
    return response.status_code


def test_a_folded_spelling_gets_no_fresh_budget(
    slapd: Slapd, server_factory: Callable[..., RunningServer]
) -> None:
    server = ldap_konnect(server_factory, slapd)
    assert attempt(server, "jona\u017f", PASSWORD) == 200  # the directory folds it to jonas
    for _ in range(10):
        assert attempt(server, "jonas") == 204
    assert attempt(server, "jona\u017f", PASSWORD) == 429


def test_every_login_attribute_of_an_account_shares_its_count(
    slapd: Slapd, server_factory: Callable[..., RunningServer]
) -> None:
    server = ldap_konnect(server_factory, slapd, LDAP_LOGIN_ATTRIBUTE="uid mail")
    for _ in range(10):
        assert attempt(server, "jonas") == 204
    assert attempt(server, "jonas@example.com", PASSWORD) == 429


def test_unknown_and_disabled_names_bind_like_wrong_passwords(slapd: Slapd) -> None:
    ldap = LdapBackend(load_ldap_settings(ldap_env(slapd)))
    directory = ldap._directory
    binds: list[str] = []
    check_password = directory.check_password

    def counted(dn: str, password: str) -> bool:
        binds.append(dn)
        return check_password(dn, password)

    directory.check_password = counted  # type: ignore[method-assign]

    async def tries() -> list[object]:
        try:
            names = [("jonas", "wrong"), ("ghost", "wrong"), ("timmothy", PASSWORD)]
            return [await ldap.logon(name, password) for name, password in names]
        finally:
            await ldap.close()

    assert asyncio.run(tries()) == [None, None, None]
    assert len(binds) == 3
    assert binds[0] == "uid=jonas,ou=users,dc=example,dc=com"
    assert binds[1] == binds[2] != binds[0]
