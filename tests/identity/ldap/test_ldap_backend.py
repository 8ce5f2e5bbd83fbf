"""The LDAP backend against a real slapd: sign-in, lookup, options, injection, groups, AD."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from konnect.identity import User
from konnect.identity.ldap import LdapBackend, load_ldap_settings
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import PASSWORD, SERVICE_PASSWORD, Slapd

T = TypeVar("T")
JONAS_DN = "uid=jonas,ou=users,dc=example,dc=com"


def backend(server: Slapd, **env: str) -> LdapBackend:
    return LdapBackend(load_ldap_settings(ldap_env(server, **env)))


def run(ldap: LdapBackend, work: Callable[[LdapBackend], Awaitable[T]]) -> T:
    async def scenario() -> T:
        try:
            return await work(ldap)
        finally:
            await ldap.close()

    return asyncio.run(scenario())


def logon(server: Slapd, username: str, password: str = PASSWORD, **env: str) -> User | None:
    return run(backend(server, **env), lambda ldap: ldap.logon(username, password))


def test_sign_in_reads_the_mapped_attributes(slapd: Slapd) -> None:
    user = logon(slapd, "jonas", LDAP_UIDNUMBER_ATTRIBUTE="uidNumber")
    assert user is not None
    assert user.subject == JONAS_DN
    assert (user.username, user.name, user.given_name, user.family_name) == (
        "jonas",
        "Jonas Brekke",
        "Jonas",
        "Brekke",
    )
    assert (user.email, user.email_verified, user.numeric_id) == ("jonas@example.com", False, 1001)
    assert len(user.uuid) == 36


def test_login_name_is_case_insensitive_and_username_is_the_directory_value(slapd: Slapd) -> None:
    user = logon(slapd, "JONAS")
    assert user is not None
    assert user.username == "jonas"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("jonas", "wrong"),
        ("ghost", PASSWORD),
        ("timmothy", PASSWORD),  # disabled (userAccountControl 514)
        ("jonas", ""),  # would be an anonymous bind
        ("jonas", "\x01\x7f control"),
        ("jonas", PASSWORD.replace(" ", "\u00a0")),  # no SASLprep mapping: sent as typed
        ("nopass", PASSWORD),  # entry without a password
        ("", PASSWORD),
    ],
)
def test_wrong_unknown_disabled_and_empty_all_look_the_same(
    slapd: Slapd, username: str, password: str
) -> None:
    assert logon(slapd, username, password) is None


@pytest.mark.parametrize(
    "username",
    ["*", "jon*", "bob*", "*)(uid=*", "jonas)(uid=*", "jonas)(|(uid=*", "j\\6fnas", "jonas\0"],
)
def test_injection_attempts_do_not_widen_the_search(slapd: Slapd, username: str) -> None:
    assert logon(slapd, username) is None


def test_an_entry_with_special_characters_signs_in_by_its_exact_name(slapd: Slapd) -> None:
    user = logon(slapd, "wild*card(1)\\x")
    assert user is not None
    assert user.subject == "uid=wild*card(1)\\5Cx,ou=users,dc=example,dc=com"
    assert user.name == "Smith, Ånne"
    assert logon(slapd, "wild*card(1)") is None
    assert logon(slapd, "wild*") is None


def test_proxy_sign_on_finds_users_by_login_name_without_a_password(slapd: Slapd) -> None:
    async def work(ldap: LdapBackend) -> list[User | None]:
        names = ["JONAS", "ghost", "timmothy", "*", "jonas)(uid=*", ""]
        return [await ldap.lookup_username(name) for name in names]

    found, *missing = run(backend(slapd), work)
    assert found is not None
    assert (found.subject, found.username) == (JONAS_DN, "jonas")
    assert missing == [None] * 5


def test_more_than_one_match_refuses_the_sign_in(slapd: Slapd) -> None:
    assert logon(slapd, "shared@example.com", LDAP_LOGIN_ATTRIBUTE="mail") is None
    assert logon(slapd, "bob@example.com", LDAP_LOGIN_ATTRIBUTE="mail") is not None


def test_lookup_finds_the_same_user_and_none_for_unknown_subjects(slapd: Slapd) -> None:
    async def work(ldap: LdapBackend) -> list[User | None]:
        return [
            await ldap.lookup(JONAS_DN),
            await ldap.lookup("UID=Jonas,ou=users,dc=example,dc=com"),
            await ldap.lookup("uid=ghost,ou=users,dc=example,dc=com"),
            await ldap.lookup("uid=timmothy,ou=users,dc=example,dc=com"),
            await ldap.lookup("not a dn"),
            await ldap.lookup("ou=users,dc=example,dc=com"),  # exists, but fails the filter
        ]

    found = run(backend(slapd), work)
    assert found[0] is not None
    assert found[0].username == "jonas"
    assert found[1] is not None
    assert found[1].subject == JONAS_DN
    assert found[2:] == [None, None, None, None]


def test_sub_attributes_as_subject(slapd: Slapd) -> None:
    env = {"LDAP_SUB_ATTRIBUTES": "uidNumber", "LDAP_FILTER": "(objectClass=posixAccount)"}
    ldap = backend(slapd, **env)

    async def work(ldap: LdapBackend) -> tuple[User | None, User | None, User | None]:
        user = await ldap.logon("jonas", PASSWORD)
        return user, await ldap.lookup("uidNumber=1001"), await ldap.lookup("uidNumber=*")

    user, again, wildcard = run(ldap, work)
    assert user is not None
    assert user.subject == "uidNumber=1001"
    assert again == user
    assert wildcard is None


def test_scope_and_base(slapd: Slapd) -> None:
    users_base = "ou=users,dc=example,dc=com"
    assert logon(slapd, "jonas", LDAP_BASEDN=users_base, LDAP_SCOPE="one") is not None
    assert logon(slapd, "jonas", LDAP_SCOPE="one") is None  # users are one level further down
    assert logon(slapd, "jonas", LDAP_BASEDN=JONAS_DN, LDAP_SCOPE="base") is not None
    assert logon(slapd, "jonas", LDAP_BASEDN="ou=ad,dc=example,dc=com") is None


def test_attribute_mapping_options(slapd: Slapd) -> None:
    user = logon(
        slapd,
        "jonas@example.com",
        LDAP_LOGIN_ATTRIBUTE="mail",
        LDAP_EMAIL_ATTRIBUTE="uid",
        LDAP_NAME_ATTRIBUTE="sn",
        LDAP_FAMILY_NAME_ATTRIBUTE="givenName",
        LDAP_GIVEN_NAME_ATTRIBUTE="cn",
        LDAP_UUID_ATTRIBUTE="uidNumber",
    )
    assert user is not None
    assert (user.username, user.email, user.name) == ("jonas@example.com", "jonas", "Brekke")
    assert (user.family_name, user.given_name, user.uuid) == ("Jonas", "Jonas Brekke", "1001")


def test_filter_option_limits_who_can_sign_in(slapd: Slapd) -> None:
    assert logon(slapd, "bob", LDAP_FILTER="(objectClass=posixAccount)") is None
    assert logon(slapd, "jonas", LDAP_FILTER="(objectClass=posixAccount)") is not None


def test_bind_password_file_and_anonymous_search(slapd: Slapd, tmp_path: Path) -> None:
    secret = tmp_path / "bindpw"
    secret.write_text(SERVICE_PASSWORD + "\n")
    assert logon(slapd, "jonas", LDAP_BINDPW="", LDAP_BINDPW_FILE=str(secret)) is not None
    assert logon(slapd, "jonas", LDAP_BINDDN="", LDAP_BINDPW="") is not None


def test_konnect_id_scope_only_with_a_uidnumber_attribute(slapd: Slapd) -> None:
    assert "konnect/id" not in backend(slapd).scopes
    assert "konnect/id" in backend(slapd, LDAP_UIDNUMBER_ATTRIBUTE="uidNumber").scopes


def test_groups_scope_only_when_groups_are_read(slapd: Slapd) -> None:
    assert "groups" not in backend(slapd, LDAP_GROUPS="none").scopes
    assert "groups" in backend(slapd, LDAP_GROUPS="memberof").scopes
    assert "groups" in backend(slapd, LDAP_GROUPS="search").scopes


def test_groups_from_member_of(slapd: Slapd) -> None:
    user = logon(slapd, "jonas", LDAP_GROUPS="memberof")
    assert user is not None
    assert user.groups == ("staff",)


def test_groups_from_a_group_search_optionally_nested(slapd: Slapd) -> None:
    flat = logon(slapd, "jonas", LDAP_GROUPS="search")
    assert flat is not None
    assert flat.groups == ("developers", "staff")
    nested = logon(slapd, "jonas", LDAP_GROUPS="search", LDAP_GROUP_NESTED="yes")
    assert nested is not None
    assert nested.groups == ("developers", "moderators", "staff")
    only_names = logon(
        slapd,
        "jonas",
        LDAP_GROUPS="search",
        LDAP_GROUP_FILTER="(&(objectClass=groupOfNames)(member={dn}))",
        LDAP_GROUP_BASEDN="ou=groups,dc=example,dc=com",
    )
    assert only_names is not None
    assert only_names.groups == ("staff",)


def test_group_attribute_and_group_name_attribute_options(slapd: Slapd) -> None:
    named = logon(slapd, "jonas", LDAP_GROUPS="search", LDAP_GROUP_NAME_ATTRIBUTE="description")
    assert named is not None
    assert named.groups == ("Staff members",)  # groups without a description are left out
    other = logon(slapd, "jonas", LDAP_GROUPS="memberof", LDAP_GROUP_ATTRIBUTE="seeAlso")
    assert other is not None
    assert other.groups == ()


def ad_env() -> dict[str, str]:
    return {
        "LDAP_DIRECTORY_TYPE": "ad",
        "LDAP_BASEDN": "ou=ad,dc=example,dc=com",
        "LDAP_UUID_ATTRIBUTE": "",
    }


def test_active_directory_defaults(slapd: Slapd) -> None:
    by_account = logon(slapd, "ada", **ad_env())
    by_principal = logon(slapd, "ADA@corp.example.com", **ad_env())
    assert by_account is not None
    assert by_account == by_principal
    assert by_account.subject == "cn=Ada Lovelace,ou=ad,dc=example,dc=com"
    assert by_account.username == "ada"
    assert by_account.name == "Ada Lovelace (AD)"
    guid = base64.b64decode("bxwqO01eT2CBcqO0xdbn+A==")
    assert by_account.uuid == str(uuid.UUID(bytes=guid))
    assert by_account.groups == ("staff",)


def test_active_directory_disabled_accounts_and_computers_cannot_sign_in(slapd: Slapd) -> None:
    assert logon(slapd, "grace", **ad_env()) is None
    assert logon(slapd, "grace@corp.example.com", **ad_env()) is None
    assert logon(slapd, "workstation", **ad_env()) is None


def test_changes_and_deletions_show_on_lookup(slapd: Slapd) -> None:
    slapd.ldapmodify(
        "dn: uid=temp,ou=users,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: temp\n"
        "cn: Temp Person\nsn: Person\nuserPassword: pw\n",
        add=True,
    )
    ldap = backend(slapd)
    dn = "uid=temp,ou=users,dc=example,dc=com"

    async def work(ldap: LdapBackend) -> list[User | None]:
        first = await ldap.lookup(dn)
        await asyncio.to_thread(
            slapd.ldapmodify, f"dn: {dn}\nchangetype: modify\nreplace: cn\ncn: Renamed\n"
        )
        renamed = await ldap.lookup(dn)
        await asyncio.to_thread(slapd.ldapmodify, f"dn: {dn}\nchangetype: delete\n")
        return [first, renamed, await ldap.lookup(dn), await ldap.logon("temp", "pw")]

    first, renamed, gone, signed_in = run(ldap, work)
    assert first is not None
    assert first.name == "Temp Person"
    assert renamed is not None
    assert renamed.name == "Renamed"
    assert gone is None
    assert signed_in is None


def test_many_concurrent_sign_ins_share_a_bounded_pool(slapd: Slapd) -> None:
    ldap = backend(slapd, LDAP_POOL_SIZE="4")

    async def work(ldap: LdapBackend) -> list[User | None]:
        names = ["jonas", "bob", "bobby"] * 20
        return await asyncio.gather(*(ldap.logon(name, PASSWORD) for name in names))

    users = run(ldap, work)
    assert all(user is not None for user in users)
    assert {user.username for user in users if user} == {"jonas", "bob", "bobby"}
    directory = ldap._directory
    assert len(directory.searches._idle) <= 4
    assert len(directory.binds._idle) <= 4
