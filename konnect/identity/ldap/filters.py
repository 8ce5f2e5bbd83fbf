"""LDAP search filters: the configured filters compiled once, the login matched as raw bytes.

A login name never becomes filter text: it goes into the equality match as raw bytes
(RFC 4511 §4.5.1), so it cannot add clauses or wildcards. Values that must go into filter
text (the group filter's `{dn}` and `{login}`) are escaped as RFC 4515 §3 requires.
"""

from __future__ import annotations

import warnings

from konnect.identity.ldap.settings import LdapSettings
from konnect.identity.ldap.wire import octets, tlv

with warnings.catch_warnings():
    # ldap3 2.9 imports pyasn1 names that pyasn1 0.6 deprecates; nothing for us to act on.
    warnings.simplefilter("ignore", DeprecationWarning)
    from ldap3.core.exceptions import LDAPException
    from ldap3.operation.search import compile_filter, parse_filter
    from ldap3.utils.asn1 import encode

_FILTER_ESCAPES = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\0": r"\00"}


def escape_filter_value(value: str) -> str:
    """RFC 4515 §3: a value that matches itself only, never a wildcard or a new clause."""
    return "".join(_FILTER_ESCAPES.get(char, char) for char in value)


def group_filter(settings: LdapSettings, member_dn: str, login: str) -> str:
    return settings.group_filter.replace("{dn}", escape_filter_value(member_dn)).replace(
        "{login}", escape_filter_value(login)
    )


def compiled_filter(search_filter: str) -> bytes:
    """The BER encoding of a filter string, compiled with ldap3; ValueError if malformed."""
    try:
        tree = parse_filter(search_filter, None, True, True, None, False)
        return bytes(encode(compile_filter(tree.elements[0])))
    except (LDAPException, IndexError, AttributeError) as exc:
        raise ValueError(str(exc) or exc.__class__.__name__) from None


def equality_filter(attributes: tuple[str, ...], value: str) -> bytes:
    """`(attr=value)`, or `(|(a=value)(b=value))` for several attributes; value as raw bytes."""
    raw = value.encode("utf-8")
    matches = [
        tlv(0xA3, octets(attribute.encode("utf-8")) + octets(raw)) for attribute in attributes
    ]
    return matches[0] if len(matches) == 1 else tlv(0xA1, b"".join(matches))


def and_filter(*parts: bytes) -> bytes:
    return tlv(0xA0, b"".join(parts))
