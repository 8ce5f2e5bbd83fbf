"""The embedded default backend: users from a YAML file with argon2id password hashes.

A changed file is noticed (at most once a second) and read again; a broken one is logged
and the users loaded before stay in effect.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from konnect.config.errors import ConfigError
from konnect.crypto import PasswordChecks, hash_password
from konnect.identity.base import User

log = logging.getLogger("konnect.identity.users_file")
BACKEND_NAME = "identifier-users"
_SCOPES = ("profile", "email", "konnect/id", "konnect/uuid", "konnect/raw_sub", "groups")
_KNOWN_KEYS = {
    "username",
    "password_hash",
    "id",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "groups",
    "disabled",
    "numeric_id",
}


@dataclass(frozen=True)
class _Entry:
    user: User
    password_hash: str
    disabled: bool


def _entry_problems(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{where}: each user must be a mapping"]
    problems = [f"{where}: unknown key '{key}'" for key in raw if key not in _KNOWN_KEYS]
    for key in ("username", "password_hash", "id"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            problems.append(f"{where}: '{key}' is required and must be a string")
    if "groups" in raw and not isinstance(raw["groups"], list):
        problems.append(f"{where}: 'groups' must be a list")
    return problems


def _to_entry(raw: dict[str, Any]) -> _Entry:
    numeric = raw.get("numeric_id")
    user = User(
        subject=str(raw["id"]),
        username=str(raw["username"]),
        name=str(raw.get("name", "")),
        given_name=str(raw.get("given_name", "")),
        family_name=str(raw.get("family_name", "")),
        email=str(raw.get("email", "")),
        email_verified=bool(raw.get("email_verified", False)),
        groups=tuple(str(group) for group in raw.get("groups", ())),
        uuid=str(raw["id"]),
        numeric_id=int(numeric) if isinstance(numeric, int) else None,
    )
    return _Entry(user, str(raw["password_hash"]), bool(raw.get("disabled", False)))


def load_users(path: Path) -> list[_Entry]:
    """Parse and validate the users file; every problem is reported with the file and line."""
    try:
        document = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read users file ({exc})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{path}{line}: invalid YAML"]) from None
    nodes = _user_nodes(document, path)
    problems: list[str] = []
    entries: list[_Entry] = []
    seen: set[str] = set()
    for node in nodes:
        where = f"{path}:{node.start_mark.line + 1}"
        raw = yaml.safe_load(yaml.serialize(node))
        entry_problems = _entry_problems(raw, where)
        if not entry_problems:
            entry = _to_entry(raw)
            for value in (f"u:{entry.user.username.lower()}", f"i:{entry.user.subject}"):
                if value in seen:
                    entry_problems.append(f"{where}: duplicate username or id")
                seen.add(value)
            entries.append(entry)
        problems.extend(entry_problems)
    if problems:
        raise ConfigError(problems)
    return entries


def _user_nodes(document: yaml.Node | None, path: Path) -> list[yaml.Node]:
    if document is None:
        return []
    if isinstance(document, yaml.MappingNode):
        for key, value in document.value:
            if key.value == "users" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    if isinstance(document, yaml.SequenceNode):
        return list(document.value)
    raise ConfigError([f"{path}:1: expected a list of users (or a 'users:' list)"])


class _FileChanges:
    """Tells, at most once a second, whether a file was rewritten or replaced since last asked."""

    INTERVAL = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._signature()
        self._checked = time.monotonic()

    def changed(self) -> bool:
        now = time.monotonic()
        if now - self._checked < self.INTERVAL:
            return False
        self._checked = now
        signature = self._signature()
        if signature == self._seen:
            return False
        self._seen = signature
        return True

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size


class UsersFileBackend:
    """Users from a YAML file, read again when it changes."""

    name: str = BACKEND_NAME
    scopes: tuple[str, ...] = _SCOPES

    def __init__(self, entries: list[_Entry], changes: _FileChanges | None = None) -> None:
        self._use(entries)
        self._changes = changes
        # Unknown users are checked against this hash, so they cost as much time as known ones.
        self._dummy_hash = hash_password(secrets.token_hex(16))
        self._checks = PasswordChecks()

    @classmethod
    def from_file(cls, path: Path) -> UsersFileBackend:
        changes = _FileChanges(path)  # before reading, so a change while reading is seen
        return cls(load_users(path), changes)

    def _use(self, entries: list[_Entry]) -> None:
        self._by_username = {entry.user.username.lower(): entry for entry in entries}
        self._by_subject = {entry.user.subject: entry for entry in entries}

    async def _reload_if_changed(self) -> None:
        if self._changes is None or not self._changes.changed():
            return
        path = self._changes.path
        try:
            entries = await asyncio.to_thread(load_users, path)
        except ConfigError as error:
            problems = "; ".join(error.problems)
            log.error("users file not reloaded, the users read before stay: %s", problems)
            return
        self._use(entries)
        log.info("users file %s reloaded: %d users", path, len(entries))

    async def logon(self, username: str, password: str) -> User | None:
        await self._reload_if_changed()
        if not password:
            return None
        entry = self._by_username.get(username.lower())
        password_hash = entry.password_hash if entry else self._dummy_hash
        matches = await self._checks.verify(password_hash, password)
        if entry is None or entry.disabled or not matches:
            return None
        return entry.user

    async def lookup(self, subject: str) -> User | None:
        await self._reload_if_changed()
        entry = self._by_subject.get(subject)
        if entry is None or entry.disabled:
            return None
        return entry.user

    async def lookup_username(self, username: str) -> User | None:
        await self._reload_if_changed()
        entry = self._by_username.get(username.lower())
        if entry is None or entry.disabled:
            return None
        return entry.user

    async def close(self) -> None:
        self._checks.close()
