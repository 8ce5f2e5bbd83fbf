"""LDAP_* settings: parsed from the backend environment into one frozen, validated object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from konnect.config.errors import ConfigError

SCOPES = ("sub", "one", "base")
UUID_TYPES = ("text", "binary", "uuid")
GROUP_MODES = ("none", "memberof", "search")
DIRECTORY_TYPES = ("openldap", "ad")

#: Defaults that differ for Active Directory (LDAP_DIRECTORY_TYPE=ad).
_AD_DEFAULTS = {
    "LDAP_LOGIN_ATTRIBUTE": "sAMAccountName userPrincipalName",
    "LDAP_FILTER": "(&(objectClass=user)(objectCategory=person))",
    "LDAP_NAME_ATTRIBUTE": "displayName",
    "LDAP_UUID_ATTRIBUTE": "objectGUID",
    "LDAP_UUID_ATTRIBUTE_TYPE": "uuid",
    "LDAP_GROUPS": "memberof",
}
_DEFAULTS = {
    "LDAP_SCOPE": "sub",
    "LDAP_LOGIN_ATTRIBUTE": "uid",
    "LDAP_FILTER": "(objectClass=inetOrgPerson)",
    "LDAP_EMAIL_ATTRIBUTE": "mail",
    "LDAP_NAME_ATTRIBUTE": "cn",
    "LDAP_FAMILY_NAME_ATTRIBUTE": "sn",
    "LDAP_GIVEN_NAME_ATTRIBUTE": "givenName",
    "LDAP_UUID_ATTRIBUTE": "uuid",
    "LDAP_UUID_ATTRIBUTE_TYPE": "text",
    "LDAP_CONNECT_TIMEOUT": "5",
    "LDAP_TIMEOUT": "10",
    "LDAP_POOL_SIZE": "16",
    "LDAP_GROUPS": "none",
    "LDAP_GROUP_ATTRIBUTE": "memberOf",
    "LDAP_GROUP_FILTER": (
        "(|(&(objectClass=groupOfNames)(member={dn}))"
        "(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))"
        "(&(objectClass=posixGroup)(memberUid={login})))"
    ),
    "LDAP_GROUP_NAME_ATTRIBUTE": "cn",
}


@dataclass(frozen=True)
class ServerAddress:
    """One directory server of LDAP_URI."""

    host: str
    port: int
    ldaps: bool

    @property
    def uri(self) -> str:
        return f"{'ldaps' if self.ldaps else 'ldap'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class LdapSettings:
    """Everything the LDAP backend was configured with."""

    servers: tuple[ServerAddress, ...]
    base_dn: str
    bind_dn: str = ""
    bind_password: str = ""
    scope: str = "sub"
    user_filter: str = "(objectClass=inetOrgPerson)"
    login_attributes: tuple[str, ...] = ("uid",)
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    family_name_attribute: str = "sn"
    given_name_attribute: str = "givenName"
    uuid_attribute: str = "uuid"
    uuid_type: str = "text"
    uidnumber_attribute: str = ""
    sub_attributes: tuple[str, ...] = ()
    start_tls: bool = False
    ca_file: Path | None = None
    insecure: bool = False
    connect_timeout: float = 5.0
    timeout: float = 10.0
    pool_size: int = 16
    groups: str = "none"
    group_attribute: str = "memberOf"
    group_base_dn: str = ""
    group_filter: str = _DEFAULTS["LDAP_GROUP_FILTER"]
    group_name_attribute: str = "cn"
    nested_groups: bool = False

    @property
    def uses_tls(self) -> bool:
        return self.start_tls or any(server.ldaps for server in self.servers)


class _Reader:
    """Reads LDAP_* values, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []
        kind = env.get("LDAP_DIRECTORY_TYPE", "openldap").strip().lower()
        if kind not in DIRECTORY_TYPES:
            self.problems.append(f"LDAP_DIRECTORY_TYPE: '{kind}' is not one of openldap, ad")
        self.defaults = {**_DEFAULTS, **(_AD_DEFAULTS if kind == "ad" else {})}

    def text(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        return value or self.defaults.get(name, "")

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.text(name).lower()
        if value not in choices:
            self.problems.append(f"{name}: '{value}' is not one of {', '.join(choices)}")
        return value

    def number(self, name: str, convert: Callable[[str], float]) -> float:
        text = self.text(name)
        try:
            value = convert(text)
        except ValueError:
            value = 0
        if value <= 0:
            self.problems.append(f"{name}: '{text}' must be a positive number")
            return convert(self.defaults[name])
        return value

    def flag(self, name: str) -> bool:
        value = self.text(name).lower()
        if value not in ("", "yes", "true", "1", "no", "false", "0"):
            self.problems.append(f"{name}: '{value}' must be yes or no")
        return value in ("yes", "true", "1")

    def words(self, name: str) -> tuple[str, ...]:
        return tuple(self.text(name).replace(",", " ").split())

    def user_filter(self, name: str) -> str:
        value = self.text(name)
        if not value.startswith("("):
            value = f"({value})"
        if not _balanced(value):
            self.problems.append(f"{name}: '{value}' is not a valid LDAP filter")
        return value


def _balanced(search_filter: str) -> bool:
    depth = 0
    for char in search_filter:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and search_filter.endswith(")")


def _server(uri: str, problems: list[str]) -> ServerAddress | None:
    parts = urlsplit(uri if "://" in uri else f"ldap://{uri}")
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        problems.append(f"LDAP_URI: '{uri}' is not an ldap:// or ldaps:// URI")
        return None
    try:
        port = parts.port or (636 if parts.scheme == "ldaps" else 389)
    except ValueError:
        problems.append(f"LDAP_URI: '{uri}' has an invalid port")
        return None
    return ServerAddress(parts.hostname, port, parts.scheme == "ldaps")


def _bind_password(reader: _Reader) -> str:
    inline = reader.env.get("LDAP_BINDPW", "")
    file_name = reader.text("LDAP_BINDPW_FILE")
    if not file_name:
        return inline
    if inline:
        reader.problems.append("LDAP_BINDPW and LDAP_BINDPW_FILE are both set; use one")
    try:
        return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.__class__.__name__
        reader.problems.append(f"LDAP_BINDPW_FILE: cannot read {file_name} ({reason})")
        return ""


def _ca_file(reader: _Reader) -> Path | None:
    name = reader.text("LDAP_TLS_CA_FILE")
    if not name:
        return None
    if not Path(name).is_file():
        reader.problems.append(f"LDAP_TLS_CA_FILE: {name} is not a readable file")
    return Path(name)


def load_ldap_settings(env: Mapping[str, str], *, insecure: bool = False) -> LdapSettings:
    """The LDAP settings from LDAP_* values; every problem is reported at once."""
    reader = _Reader(env)
    problems = reader.problems
    uris = reader.words("LDAP_URI")
    if not uris:
        problems.append("LDAP_URI is required for the ldap identity manager")
    servers = tuple(server for uri in uris if (server := _server(uri, problems)))
    base_dn = reader.text("LDAP_BASEDN")
    if not base_dn:
        problems.append("LDAP_BASEDN is required for the ldap identity manager")
    bind_dn, bind_password = reader.text("LDAP_BINDDN"), _bind_password(reader)
    if (bind_password or reader.text("LDAP_BINDPW_FILE")) and not bind_dn:
        problems.append("LDAP_BINDPW is set but LDAP_BINDDN is empty")
    login_attributes = reader.words("LDAP_LOGIN_ATTRIBUTE")
    settings = LdapSettings(
        servers=servers,
        base_dn=base_dn,
        bind_dn=bind_dn,
        bind_password=bind_password,
        scope=reader.choice("LDAP_SCOPE", SCOPES),
        user_filter=reader.user_filter("LDAP_FILTER"),
        login_attributes=login_attributes,
        email_attribute=reader.text("LDAP_EMAIL_ATTRIBUTE"),
        name_attribute=reader.text("LDAP_NAME_ATTRIBUTE"),
        family_name_attribute=reader.text("LDAP_FAMILY_NAME_ATTRIBUTE"),
        given_name_attribute=reader.text("LDAP_GIVEN_NAME_ATTRIBUTE"),
        uuid_attribute=reader.text("LDAP_UUID_ATTRIBUTE"),
        uuid_type=reader.choice("LDAP_UUID_ATTRIBUTE_TYPE", UUID_TYPES),
        uidnumber_attribute=reader.text("LDAP_UIDNUMBER_ATTRIBUTE"),
        sub_attributes=reader.words("LDAP_SUB_ATTRIBUTES"),
        start_tls=reader.flag("LDAP_STARTTLS"),
        ca_file=_ca_file(reader),
        insecure=insecure,
        connect_timeout=reader.number("LDAP_CONNECT_TIMEOUT", float),
        timeout=reader.number("LDAP_TIMEOUT", float),
        pool_size=int(reader.number("LDAP_POOL_SIZE", int)),
        groups=reader.choice("LDAP_GROUPS", GROUP_MODES),
        group_attribute=reader.text("LDAP_GROUP_ATTRIBUTE"),
        group_base_dn=reader.text("LDAP_GROUP_BASEDN") or base_dn,
        group_filter=reader.user_filter("LDAP_GROUP_FILTER"),
        group_name_attribute=reader.text("LDAP_GROUP_NAME_ATTRIBUTE"),
        nested_groups=reader.flag("LDAP_GROUP_NESTED"),
    )
    if not login_attributes:
        problems.append("LDAP_LOGIN_ATTRIBUTE must name at least one attribute")
    if settings.start_tls and any(server.ldaps for server in servers):
        problems.append("LDAP_STARTTLS cannot be combined with ldaps:// URIs")
    if problems:
        raise ConfigError(problems)
    return settings
