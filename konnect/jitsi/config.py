"""The Jitsi servers file: one entry per Jitsi Meet server konnect issues tokens for.

Every problem in the file is collected and reported at once, naming the entry and key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from konnect.config.errors import ConfigError

SECRET_ALGORITHMS = ("HS256", "HS384", "HS512")
ASAP_ALGORITHM = "RS256"
DEFAULT_LIFETIME = 300
MAX_LIFETIME = 86_400
#: The features Jitsi Meet's web client knows; others only produce warnings in the client.
KNOWN_FEATURES = frozenset(
    {
        "branding",
        "calendar",
        "create-polls",
        "flip",
        "inbound-call",
        "livestreaming",
        "lobby",
        "moderation",
        "outbound-call",
        "recording",
        "room",
        "screen-sharing",
        "send-groupchat",
        "sip-inbound-call",
        "sip-outbound-call",
        "transcription",
    }
)
#: `features` key that applies to every user, whatever their groups.
EVERYBODY = "*"
_KEYS = frozenset(
    {
        "id",
        "url",
        "app_id",
        "audience",
        "issuer",
        "sub",
        "alg",
        "secret_file",
        "asap",
        "lifetime",
        "allowed_groups",
        "moderator_groups",
        "features",
        "group",
        "lobby_bypass",
    }
)


def _no_features() -> Mapping[str, Mapping[str, bool]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class JitsiServer:
    """One Jitsi Meet server: where it is, what its prosody accepts, who gets which role.

    `secret` is the shared secret for HS*; None means ASAP (RS256 with konnect's RSA key).
    `allowed_groups` / `moderator_groups` None mean everybody signed in.
    """

    id: str
    url: str
    app_id: str
    audience: str
    issuer: str
    sub: str = "*"
    alg: str = ASAP_ALGORITHM
    secret: bytes | None = field(default=None, repr=False)
    lifetime: int = DEFAULT_LIFETIME
    allowed_groups: frozenset[str] | None = None
    moderator_groups: frozenset[str] | None = None
    features: Mapping[str, Mapping[str, bool]] = field(default_factory=_no_features)
    group: str = ""
    lobby_bypass: bool = False

    @property
    def asap(self) -> bool:
        return self.secret is None


@dataclass(frozen=True)
class JitsiServers:
    """The configured servers by id, and non-fatal findings to log at startup."""

    servers: Mapping[str, JitsiServer]
    warnings: tuple[str, ...] = ()

    @property
    def asap(self) -> bool:
        return any(server.asap for server in self.servers.values())


def load_jitsi_servers(path: Path, default_issuer: str) -> JitsiServers:
    """The servers of a Jitsi servers file; ConfigError listing every problem."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the Jitsi servers file: {error}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {error}"]) from None
    entries = document.get("jitsi") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError([f"{path}: expected a non-empty list under 'jitsi:'"])
    problems: list[str] = []
    warnings: list[str] = []
    servers: dict[str, JitsiServer] = {}
    for index, entry in enumerate(entries):
        reader = _Entry(f"{path}: jitsi[{index}]", entry, problems, warnings)
        server = reader.server(path.parent, default_issuer)
        if server is None:
            continue
        if server.id in servers:
            problems.append(f"{reader.where}: id '{server.id}' is used twice")
        servers[server.id] = server
    if problems:
        raise ConfigError(problems)
    return JitsiServers(MappingProxyType(servers), tuple(warnings))


class _Entry:
    """Reads one entry of the list, recording problems under the entry's name."""

    def __init__(self, where: str, raw: object, problems: list[str], warnings: list[str]) -> None:
        self.where = where
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self.problems = problems
        self.warnings = warnings
        if not isinstance(raw, dict):
            self.fail("expected a mapping")
        elif isinstance(raw.get("id"), str):
            self.where = f"{where} ({raw['id']})"

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def server(self, folder: Path, default_issuer: str) -> JitsiServer | None:
        if not self.raw:
            return None
        before = len(self.problems)
        for key in sorted(set(self.raw) - _KEYS, key=str):
            self.fail(f"unknown key '{key}'")
        app_id = self.text("app_id", required=True)
        alg, secret = self.signing(folder)
        server = JitsiServer(
            id=self.text("id", required=True),
            url=self.url(),
            app_id=app_id,
            audience=self.text("audience") or app_id,
            issuer=self.text("issuer") or default_issuer,
            sub=self.text("sub") or "*",
            alg=alg,
            secret=secret,
            lifetime=self.lifetime(),
            allowed_groups=self.groups("allowed_groups"),
            moderator_groups=self.groups("moderator_groups"),
            features=self.features(),
            group=self.text("group"),
            lobby_bypass=self.flag("lobby_bypass"),
        )
        return server if len(self.problems) == before else None

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.fail(f"'{key}' is required")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{key}' must be a non-empty string")
            return ""
        return value.strip()

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"'{key}' must be true or false")
            return False
        return value

    def url(self) -> str:
        value = self.text("url", required=True)
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.query or parts.fragment or not parts.hostname:
            self.fail(f"url '{value}' must be an absolute URL without query or fragment")
        elif parts.scheme != "https" and not (
            parts.scheme == "http" and _is_loopback(parts.hostname)
        ):
            self.fail(f"url '{value}' must be https:// (http:// only on loopback)")
        return value.rstrip("/")

    def signing(self, folder: Path) -> tuple[str, bytes | None]:
        asap = self.flag("asap")
        secret_file = self.text("secret_file")
        alg = self.text("alg")
        if asap == bool(secret_file):
            self.fail("set exactly one of 'secret_file' (shared secret) and 'asap: true'")
            return ASAP_ALGORITHM, None
        if asap:
            if alg and alg != ASAP_ALGORITHM:
                self.fail(f"'alg' {alg}: with 'asap: true' tokens are signed {ASAP_ALGORITHM}")
            return ASAP_ALGORITHM, None
        alg = alg or SECRET_ALGORITHMS[0]
        if alg not in SECRET_ALGORITHMS:
            self.fail(f"'alg' must be one of {', '.join(SECRET_ALGORITHMS)} with 'secret_file'")
        return alg, self.secret(folder / secret_file, alg)

    def secret(self, path: Path, alg: str) -> bytes:
        try:
            secret = path.read_bytes().strip()
        except OSError as error:
            self.fail(f"secret_file: cannot read {path}: {error.strerror}")
            return b""
        if not secret:
            self.fail(f"secret_file: {path} is empty")
        elif len(secret) < _strong_secret_bytes(alg):
            # Accepted, as deployments have such secrets, but RFC 7518 §3.2 wants more.
            self.warnings.append(
                f"{self.where}: the shared secret is shorter than {_strong_secret_bytes(alg)} "
                f"bytes, the size of an {alg} hash; a guessed secret mints any Jitsi token"
            )
        return secret

    def lifetime(self) -> int:
        value = self.raw.get("lifetime", DEFAULT_LIFETIME)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_LIFETIME:
            self.fail(f"'lifetime' must be a number of seconds from 1 to {MAX_LIFETIME}")
            return DEFAULT_LIFETIME
        return value

    def groups(self, key: str) -> frozenset[str] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            self.fail(f"'{key}' must be a list of group names")
            return None
        return frozenset(value)

    def features(self) -> Mapping[str, Mapping[str, bool]]:
        value = self.raw.get("features")
        if value is None:
            return _no_features()
        if not isinstance(value, dict):
            self.fail("'features' must map group names (or '*') to features")
            return _no_features()
        features: dict[str, Mapping[str, bool]] = {}
        for group, switches in value.items():
            features[str(group)] = MappingProxyType(self.switches(str(group), switches))
        return MappingProxyType(features)

    def switches(self, group: str, value: object) -> dict[str, bool]:
        if not isinstance(value, dict) or not all(
            isinstance(flag, bool) for flag in value.values()
        ):
            self.fail(f"features '{group}': expected a mapping of feature: true/false")
            return {}
        unknown = sorted(str(name) for name in value if name not in KNOWN_FEATURES)
        if unknown:
            self.fail(f"features '{group}': unknown feature {', '.join(unknown)}")
        return {str(name): flag for name, flag in value.items()}


def _strong_secret_bytes(alg: str) -> int:
    return int(alg[2:]) // 8 if alg in SECRET_ALGORITHMS else 32


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
