"""LDAP rules without a server: escaping, filters, subjects, uuid forms and settings."""

from __future__ import annotations

import base64
import re
import uuid
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.operation.bind import bind_operation
    from ldap3.operation.search import search_operation
    from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp
    from ldap3.utils.asn1 import encode

from konnect.config.errors import ConfigError
from konnect.crypto import public_subject
from konnect.identity.ldap import LdapBackend, filters, wire
from konnect.identity.ldap.entries import (
    Entry,
    group_names,
    parse_sub_attributes,
    subject_of,
    unique_id,
)
from konnect.identity.ldap.filters import escape_filter_value
from konnect.identity.ldap.settings import LdapSettings, ServerAddress, load_ldap_settings

BASE = {"LDAP_URI": "ldap://ldap.example.com", "LDAP_BASEDN": "dc=example,dc=com"}


def settings(**changes: str) -> LdapSettings:
    return load_ldap_settings({**BASE, **changes})


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("jonas", "jonas"),
        ("*", r"\2a"),
        ("a(b)c", r"a\28b\29c"),
        ("back\\slash", r"back\5cslash"),
        ("nul\0byte", r"nul\00byte"),
        ("jonas)(uid=*", r"jonas\29\28uid=\2a"),
        ("Ånne", "Ånne"),
    ],
)
def test_filter_values_are_escaped_per_rfc4515(value: str, escaped: str) -> None:
    assert escape_filter_value(value) == escaped


def ldap3_message(kind: str, request: object) -> bytes:
    message = LDAPMessage()
    message["messageID"] = MessageID(300)
    message["protocolOp"] = ProtocolOp().setComponentByName(kind, request)
    return bytes(encode(message))


def our_message(operation: bytes) -> bytes:
    return wire.tlv(0x30, wire._integer(300) + operation)


@pytest.mark.parametrize(
    ("attributes", "value"),
    [(("uid",), "jonas"), (("uid",), "j*)(uid=*\\\0"), (("sAMAccountName", "mail"), "Ånne")],
)
def test_login_search_is_byte_for_byte_what_ldap3_sends_for_the_escaped_filter(
    attributes: tuple[str, ...], value: str
) -> None:
    escaped = escape_filter_value(value)
    matches = "".join(f"({name}={escaped})" for name in attributes)
    login = matches if len(attributes) == 1 else f"(|{matches})"
    text_filter = f"(&(objectClass=inetOrgPerson){login})"
    names = ["uid", "mail", "cn"]
    theirs = search_operation(
        "dc=example,dc=com",
        text_filter,
        ldap3.SUBTREE,
        ldap3.DEREF_NEVER,
        names,
        2,
        10,
        False,
        True,
        True,
    )
    ber_filter = filters.and_filter(
        filters.compiled_filter("(objectClass=inetOrgPerson)"),
        filters.equality_filter(attributes, value),
    )
    ours = wire.search_request("dc=example,dc=com", "sub", ber_filter, names, 2, 10)
    assert our_message(ours) == ldap3_message("searchRequest", theirs)


def test_bind_request_is_byte_for_byte_what_ldap3_sends() -> None:
    password = ("pässword " * 30).encode()
    theirs = bind_operation(3, ldap3.SIMPLE, "uid=x,dc=example,dc=com", password)
    ours = wire.simple_bind_request("uid=x,dc=example,dc=com", password)
    assert our_message(ours) == ldap3_message("bindRequest", theirs)


def test_malformed_filters_are_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="filter"):
        filters.compiled_filter("(&(objectClass=person)(uid=x)")
    with pytest.raises(ConfigError, match="LDAP_FILTER"):
        LdapBackend(settings(LDAP_FILTER="(uid=x)(cn=y)"))


def test_subject_hash_vectors_of_the_reference() -> None:
    assert public_subject("uid=jonas,ou=users,dc=example,dc=com", "identifier-ldap") == (
        "N5-buqYpu9ipkNdmfe4gbQlTqxVVRTt0FicoXLTAwYTq3flmr2MtzVKnDOQayIjzKSoTUsnkQf90GzGm_0bqAA"
        "@konnect"
    )


def test_subject_is_the_dn_or_the_sub_attributes_query_encoding() -> None:
    entry = Entry.from_raw(
        "uid=jonas,ou=users,dc=example,dc=com",
        {"uidNumber": [b"1001"], "UID": [b"jonas b"], "mail": [b"j@example.com"]},
    )
    assert subject_of(settings(), entry) == "uid=jonas,ou=users,dc=example,dc=com"
    by_attributes = settings(LDAP_SUB_ATTRIBUTES="uidNumber")
    assert subject_of(by_attributes, entry) == "uidNumber=1001"
    two = settings(LDAP_SUB_ATTRIBUTES="uidNumber uid")
    # Go's url.Values.Encode: keys sorted, values query-escaped (space as "+").
    assert subject_of(two, entry) == "uid=jonas+b&uidNumber=1001"
    assert parse_sub_attributes(two, "uid=jonas+b&uidNumber=1001") == [
        ("uid", "jonas b"),
        ("uidNumber", "1001"),
    ]
    assert parse_sub_attributes(two, "cn=x") is None
    assert parse_sub_attributes(two, "") is None


def test_unique_id_text_binary_and_uuid() -> None:
    guid = uuid.UUID("6f1c2a3b-4d5e-4f60-8172-a3b4c5d6e7f8")
    entry = Entry.from_raw("cn=a", {"objectGUID": [guid.bytes], "entryUUID": [b"abc-1"]})
    assert unique_id(settings(LDAP_UUID_ATTRIBUTE="entryUUID"), entry) == "abc-1"
    binary = settings(LDAP_UUID_ATTRIBUTE="objectguid", LDAP_UUID_ATTRIBUTE_TYPE="binary")
    assert unique_id(binary, entry) == base64.b64encode(guid.bytes).decode()
    as_uuid = settings(LDAP_UUID_ATTRIBUTE="objectGUID", LDAP_UUID_ATTRIBUTE_TYPE="uuid")
    assert unique_id(as_uuid, entry) == str(guid)
    short = Entry.from_raw("cn=a", {"objectGUID": [b"short"]})
    assert unique_id(as_uuid, short) == ""


def test_disabled_flag_of_active_directory() -> None:
    assert Entry.from_raw("cn=a", {"userAccountControl": [b"514"]}).disabled
    assert not Entry.from_raw("cn=a", {"userAccountControl": [b"512"]}).disabled
    assert not Entry.from_raw("cn=a", {}).disabled


def test_group_names_are_the_first_rdn_values() -> None:
    dns = ["cn=staff,ou=groups,dc=x", r"CN=Smith\, Ånne,ou=g", r"cn=a\2Bb,dc=x", "cn=staff,dc=y"]
    assert group_names(dns) == ("a+b", "Smith, Ånne", "staff")


def test_defaults_match_konnect() -> None:
    loaded = settings()
    assert loaded.servers == (ServerAddress("ldap.example.com", 389, False),)
    assert (loaded.scope, loaded.user_filter, loaded.login_attributes) == (
        "sub",
        "(objectClass=inetOrgPerson)",
        ("uid",),
    )
    assert (loaded.email_attribute, loaded.name_attribute) == ("mail", "cn")
    assert (loaded.family_name_attribute, loaded.given_name_attribute) == ("sn", "givenName")
    assert (loaded.uuid_attribute, loaded.uuid_type) == ("uuid", "text")
    assert loaded.bind_dn == loaded.bind_password == ""


def test_active_directory_defaults() -> None:
    loaded = settings(LDAP_DIRECTORY_TYPE="ad")
    assert loaded.login_attributes == ("sAMAccountName", "userPrincipalName")
    assert (loaded.uuid_attribute, loaded.uuid_type) == ("objectGUID", "uuid")
    assert loaded.groups == "memberof"
    assert settings(LDAP_DIRECTORY_TYPE="ad", LDAP_LOGIN_ATTRIBUTE="mail").login_attributes == (
        "mail",
    )


def test_several_uris_and_tls_options(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    loaded = settings(
        LDAP_URI="ldaps://a.example.com ldaps://b.example.com:1636",
        LDAP_TLS_CA_FILE=str(ca),
        LDAP_CONNECT_TIMEOUT="1.5",
        LDAP_TIMEOUT="4",
        LDAP_POOL_SIZE="3",
    )
    assert [server.uri for server in loaded.servers] == [
        "ldaps://a.example.com:636",
        "ldaps://b.example.com:1636",
    ]
    assert (loaded.ca_file, loaded.connect_timeout, loaded.timeout, loaded.pool_size) == (
        ca,
        1.5,
        4.0,
        3,
    )
    assert settings(LDAP_URI="localhost:1389").servers == (ServerAddress("localhost", 1389, False),)


def test_bind_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "bindpw"
    secret.write_text("s3cret\n")
    loaded = settings(LDAP_BINDDN="cn=konnect", LDAP_BINDPW_FILE=str(secret))
    assert loaded.bind_password == "s3cret"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_ldap_settings(
            {
                "LDAP_URI": "http://x",
                "LDAP_BINDPW": "pw",
                "LDAP_BINDPW_FILE": str(tmp_path / "missing"),
                "LDAP_SCOPE": "deep",
                "LDAP_UUID_ATTRIBUTE_TYPE": "guid",
                "LDAP_FILTER": "(objectClass=person",
                "LDAP_TIMEOUT": "0",
                "LDAP_GROUPS": "all",
                "LDAP_STARTTLS": "maybe",
                "LDAP_TLS_CA_FILE": str(tmp_path / "nope.pem"),
                "LDAP_DIRECTORY_TYPE": "novell",
            }
        )
    text = str(error.value)
    for name in (
        "LDAP_URI",
        "LDAP_BASEDN",
        "LDAP_BINDPW and LDAP_BINDPW_FILE",
        "LDAP_BINDDN is empty",
        "LDAP_SCOPE",
        "LDAP_UUID_ATTRIBUTE_TYPE",
        "LDAP_FILTER",
        "LDAP_TIMEOUT",
        "LDAP_GROUPS",
        "LDAP_STARTTLS",
        "LDAP_TLS_CA_FILE",
        "LDAP_DIRECTORY_TYPE",
    ):
        assert name in text
    assert "pw" not in text.replace("LDAP_BINDPW", "")


def test_starttls_with_ldaps_is_refused() -> None:
    with pytest.raises(ConfigError, match="LDAP_STARTTLS"):
        settings(LDAP_URI="ldaps://a", LDAP_STARTTLS="yes")


def test_every_ldap_setting_is_documented() -> None:
    root = Path(__file__).resolve().parents[3]
    source = (root / "konnect" / "identity" / "ldap" / "settings.py").read_text()
    names = set(re.findall(r'"(LDAP_[A-Z_]+)"', source))
    readme = (root / "README.md").read_text()
    example = (root / "etc" / "konnectd.cfg").read_text()
    assert len(names) > 25
    assert [name for name in sorted(names) if f"`{name}` / `{name.lower()}`" not in readme] == []
    assert [name for name in sorted(names) if f"#{name.lower()} =" not in example] == []
