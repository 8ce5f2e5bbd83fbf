"""Pure LDAP rules: turning a directory entry into a User, and back from a subject.

Nothing here does I/O, so every rule is testable without a server.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from konnect.identity.base import User
from konnect.identity.ldap.settings import LdapSettings

#: Active Directory's userAccountControl bit for a disabled account.
AD_ACCOUNT_DISABLED = 0x2
USER_ACCOUNT_CONTROL = "userAccountControl"


def user_attributes(settings: LdapSettings) -> list[str]:
    """Every attribute a user search asks the server for."""
    names = [
        *settings.login_attributes,
        settings.email_attribute,
        settings.name_attribute,
        settings.family_name_attribute,
        settings.given_name_attribute,
        settings.uuid_attribute,
        settings.uidnumber_attribute,
        *settings.sub_attributes,
        USER_ACCOUNT_CONTROL,
    ]
    if settings.groups == "memberof":
        names.append(settings.group_attribute)
    return sorted({name for name in names if name}, key=str.lower)


@dataclass(frozen=True)
class Entry:
    """A search result entry: its DN and raw values by lower-case attribute name."""

    dn: str
    values: Mapping[str, Sequence[bytes]]

    @classmethod
    def from_raw(cls, dn: str, raw: Mapping[str, Sequence[bytes]]) -> Entry:
        # Attribute descriptions are case-insensitive (RFC 4512 §2.5).
        return cls(dn, {name.lower(): list(values) for name, values in raw.items() if values})

    def raw(self, attribute: str) -> bytes | None:
        values = self.values.get(attribute.lower()) if attribute else None
        return values[0] if values else None

    def text(self, attribute: str) -> str:
        raw = self.raw(attribute)
        return raw.decode("utf-8", errors="replace") if raw is not None else ""

    def texts(self, attribute: str) -> list[str]:
        values = self.values.get(attribute.lower(), ()) if attribute else ()
        return [value.decode("utf-8", errors="replace") for value in values]

    @property
    def disabled(self) -> bool:
        flags = self.text(USER_ACCOUNT_CONTROL)
        return flags.lstrip("-").isdigit() and bool(int(flags) & AD_ACCOUNT_DISABLED)


def subject_of(settings: LdapSettings, entry: Entry) -> str:
    """The raw subject (`kc.i.id`): the DN, or the query encoding of LDAP_SUB_ATTRIBUTES."""
    if not settings.sub_attributes:
        return entry.dn
    pairs = sorted((name, entry.text(name)) for name in settings.sub_attributes if entry.raw(name))
    return urlencode(pairs)


def parse_sub_attributes(settings: LdapSettings, subject: str) -> list[tuple[str, str]] | None:
    """The attribute values a sub-attributes subject names; None if it is not one of ours."""
    pairs = parse_qsl(subject, keep_blank_values=True)
    known = {name.lower() for name in settings.sub_attributes}
    if not pairs or any(name.lower() not in known for name, _ in pairs):
        return None
    return pairs


def unique_id(settings: LdapSettings, entry: Entry) -> str:
    """`kc.uuid` as Konnect renders it: text, base64 of the bytes, or a canonical UUID."""
    raw = entry.raw(settings.uuid_attribute)
    if raw is None:
        return ""
    if settings.uuid_type == "binary":
        return base64.b64encode(raw).decode("ascii")
    if settings.uuid_type == "uuid":
        # Byte order as stored (RFC 4122), as Konnect does; not AD's mixed-endian display form.
        return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else ""
    return raw.decode("utf-8", errors="replace")


def matches_login(settings: LdapSettings, entry: Entry, username: str) -> bool:
    """Whether a login attribute of the entry really is what the person typed."""
    typed = username.casefold()
    return any(
        value.casefold() == typed
        for attribute in settings.login_attributes
        for value in entry.texts(attribute)
    )


def username_of(settings: LdapSettings, entry: Entry) -> str:
    """The username in tokens: the first login attribute's value, stable across sign-ins."""
    for attribute in settings.login_attributes:
        if value := entry.text(attribute):
            return value
    return ""


def group_names(dns: Sequence[str]) -> tuple[str, ...]:
    """Group names from group DNs: the value of each DN's first RDN."""
    names = [_first_rdn_value(dn) for dn in dns]
    return tuple(sorted({name for name in names if name}, key=str.lower))


def _first_rdn_value(dn: str) -> str:
    first = _split_unescaped(dn, ",")[0]
    _, _, value = first.partition("=")
    return _unescape_dn_value(value.strip())


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if char == separator and not escaped:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
        escaped = char == "\\" and not escaped
    parts.append("".join(current))
    return parts


def _unescape_dn_value(value: str) -> str:
    raw, index = bytearray(), 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            pair = value[index + 1 : index + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                raw.append(int(pair, 16))
                index += 3
                continue
            raw.extend(value[index + 1].encode())
            index += 2
            continue
        raw.extend(char.encode())
        index += 1
    return raw.decode("utf-8", errors="replace")


def to_user(settings: LdapSettings, entry: Entry, groups: tuple[str, ...]) -> User:
    uid_number = entry.text(settings.uidnumber_attribute).strip()
    return User(
        subject=subject_of(settings, entry),
        username=username_of(settings, entry),
        name=entry.text(settings.name_attribute),
        given_name=entry.text(settings.given_name_attribute),
        family_name=entry.text(settings.family_name_attribute),
        email=entry.text(settings.email_attribute),
        email_verified=False,
        groups=groups,
        uuid=unique_id(settings, entry),
        numeric_id=int(uid_number) if uid_number.lstrip("-").isdigit() else None,
    )
