"""Changing the users file for `konnectd users`: add, set a password hash, disable, enable, list.

The file is edited as text around the YAML nodes of its entries, so its comments, order and
layout stay as they were. Every result is read back as the server reads it before it
replaces the file, atomically, and only if nobody changed the file in the meantime.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from konnect.config.errors import ConfigError
from konnect.identity.users_file import load_users

_YAML_TRUE = ("true", "yes", "on")


class UsersFileError(Exception):
    """The change cannot be made; the message says why, for the administrator."""


@dataclass(frozen=True)
class NewUser:
    """The keys of a user to add; empty ones are left out of the file."""

    username: str
    password_hash: str
    id: str = ""
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    email_verified: bool = False
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listed:
    """A user as `konnectd users list` shows it (never the password hash)."""

    username: str
    id: str
    name: str
    disabled: bool


class UsersFile:
    """One users file, read once; each change edits the text and writes it back."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.realpath(path))  # a symlinked file is changed where it lives
        try:
            self._signature = _signature(self.path)
            self._text = self.path.read_text(encoding="utf-8")
            self._document = yaml.compose(self._text)
        except OSError as error:
            raise UsersFileError(f"{path}: cannot read ({error.strerror})") from None
        except UnicodeDecodeError:
            raise UsersFileError(f"{path}: the users file is not UTF-8 text") from None
        except yaml.YAMLError:
            raise UsersFileError(f"{path}: the users file is not valid YAML") from None

    def has(self, username: str) -> bool:
        return self._find(username) is not None

    def users(self) -> list[Listed]:
        listed = []
        for entry in self._entries():
            listed.append(
                Listed(
                    username=_scalar(_value_of(entry, "username")),
                    id=_scalar(_value_of(entry, "id")),
                    name=_scalar(_value_of(entry, "name")),
                    disabled=_scalar(_value_of(entry, "disabled")).lower() in _YAML_TRUE,
                )
            )
        return listed

    def add(self, user: NewUser) -> str:
        """Append the user; returns its id (a new UUID unless one was given)."""
        _check_text("username", user.username)
        if self._find(user.username) is not None:
            raise UsersFileError(f"user '{user.username}' already exists")
        user_id = user.id or str(uuid.uuid4())
        if any(listed.id == user_id for listed in self.users()):
            raise UsersFileError(f"the id '{user_id}' is already taken")
        keys = _new_entry_keys(user, user_id)
        self._save(_append_entry(self._text, self._document, keys))
        return user_id

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self._save(self._with_value(username, "password_hash", _quoted(password_hash)))

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable or enable the user; False when it already was."""
        current = {listed.username.lower(): listed for listed in self.users()}
        if self._find(username) is None:
            raise UsersFileError(f"no user '{username}'")
        if current[username.lower()].disabled == disabled:
            return False
        self._save(self._with_value(username, "disabled", "true" if disabled else "false"))
        return True

    # -- finding entries ------------------------------------------------------------------

    def _entries(self) -> list[yaml.MappingNode]:
        sequence = _users_sequence(self._document)
        items = sequence.value if sequence is not None else []
        return [item for item in items if isinstance(item, yaml.MappingNode)]

    def _find(self, username: str) -> yaml.MappingNode | None:
        wanted = username.lower()
        for entry in self._entries():
            if _scalar(_value_of(entry, "username")).lower() == wanted:
                return entry
        return None

    def _with_value(self, username: str, key: str, text: str) -> str:
        """The file text with the user's `key` set to the YAML scalar `text`."""
        entry = self._find(username)
        if entry is None:
            raise UsersFileError(f"no user '{username}'")
        for key_node, value in entry.value:
            if key_node.value == key:
                start, end = value.start_mark.index, value.end_mark.index
                return self._text[:start] + text + self._text[end:]
        return _insert_key(self._text, entry, f"{key}: {text}")

    # -- writing --------------------------------------------------------------------------

    def _save(self, text: str) -> None:
        try:
            self._replace(text)
        except OSError as error:
            raise UsersFileError(f"{self.path}: cannot write ({error.strerror})") from None
        self._signature = _signature(self.path)
        self._text = text
        self._document = yaml.compose(text)

    def _replace(self, text: str) -> None:
        """Write `text` beside the file, check it, and rename it over the file."""
        folder = self.path.parent
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            self._check_result(Path(temporary))
            _copy_ownership(self.path, temporary)
            if _signature(self.path) != self._signature:
                raise UsersFileError(f"{self.path} changed while it was edited; try again")
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(folder)

    def _check_result(self, temporary: Path) -> None:
        try:
            load_users(temporary)
        except ConfigError as error:
            problems = "; ".join(error.problems).replace(str(temporary), str(self.path))
            raise UsersFileError(f"the change would break the users file: {problems}") from None


# -- text editing ---------------------------------------------------------------------------


def _users_sequence(document: yaml.Node | None) -> yaml.SequenceNode | None:
    if isinstance(document, yaml.SequenceNode):
        return document
    if isinstance(document, yaml.MappingNode):
        for key, value in document.value:
            if key.value == "users" and isinstance(value, yaml.SequenceNode):
                return value
    return None


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection's end mark lies at the next token)."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return int(node.end_mark.index) - 1  # a block scalar ends after its line break
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return int(node.end_mark.index)
    if isinstance(node, yaml.MappingNode) and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _line_end(text: str, index: int) -> int:
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline


def _insert_key(text: str, entry: yaml.MappingNode, line: str) -> str:
    """The text with `key: value` added to an entry, after its first line (or inside {...})."""
    if entry.flow_style:
        closing: int = entry.end_mark.index - 1
        return text[:closing] + ", " + line + text[closing:]
    first_key, first_value = entry.value[0]
    at = _line_end(text, _content_end(first_value))
    indent: int = first_key.start_mark.column
    return text[:at] + "\n" + " " * indent + line + text[at:]


def _append_entry(text: str, document: yaml.Node | None, keys: list[str]) -> str:
    sequence = _users_sequence(document)
    if sequence is not None and sequence.value and not sequence.flow_style:
        dash_column = sequence.start_mark.column
        key_column = sequence.value[0].start_mark.column
        at = _line_end(text, _content_end(sequence))
        return text[:at] + "\n" + _entry_text(keys, dash_column, key_column) + text[at:]
    if sequence is not None and not sequence.value:  # users: []
        start = sequence.start_mark.index
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        block = "\n" + _entry_text(keys, 2, 4)
        return text[:start] + block + text[sequence.end_mark.index :]
    if document is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + _top_level(keys)
    if isinstance(document, yaml.MappingNode) and not document.flow_style:
        users = next((value for key, value in document.value if key.value == "users"), None)
        if users is None:
            return text + ("" if text.endswith("\n") else "\n") + _top_level(keys)
        if isinstance(users, yaml.ScalarNode) and users.tag.endswith(":null"):
            start = users.start_mark.index
            text = text[:start] + text[users.end_mark.index :]  # drop an explicit ~ or null
            at = _line_end(text, start)
            return text[:at] + "\n" + _entry_text(keys, 2, 4) + text[at:]
    raise UsersFileError("the users list is not a block list this command can extend")


def _top_level(keys: list[str]) -> str:
    return "users:\n" + _entry_text(keys, 2, 4) + "\n"


def _entry_text(keys: list[str], dash_column: int, key_column: int) -> str:
    first = " " * dash_column + "-" + " " * (key_column - dash_column - 1) + keys[0]
    return "\n".join([first, *(" " * key_column + key for key in keys[1:])])


def _new_entry_keys(user: NewUser, user_id: str) -> list[str]:
    keys = [f"username: {_quoted(user.username)}", f"password_hash: {_quoted(user.password_hash)}"]
    keys.append(f"id: {_quoted(user_id)}")
    for key in ("name", "given_name", "family_name", "email"):
        value = getattr(user, key)
        if value:
            _check_text(key, value)
            keys.append(f"{key}: {_quoted(value)}")
    if user.email_verified:
        keys.append("email_verified: true")
    if user.groups:
        for group in user.groups:
            _check_text("group", group)
        keys.append(f"groups: [{', '.join(_quoted(group) for group in user.groups)}]")
    return keys


def _check_text(what: str, value: str) -> None:
    if not value or value != value.strip() or not value.isprintable():
        raise UsersFileError(f"{what} must be printable text without surrounding spaces")


def _quoted(value: str) -> str:
    """A double-quoted YAML scalar (JSON strings of printable text are valid ones)."""
    return json.dumps(value, ensure_ascii=False)


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _value_of(entry: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((value for key_node, value in entry.value if key_node.value == key), None)


# -- files ----------------------------------------------------------------------------------


def _signature(path: Path) -> tuple[int, int, int]:
    stat = os.stat(path)
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _copy_ownership(original: Path, temporary: str) -> None:
    stat = os.stat(original)
    os.chmod(temporary, stat.st_mode & 0o7777)
    # Not root: the new file belongs to whoever may write the folder.
    with contextlib.suppress(PermissionError):
        os.chown(temporary, stat.st_uid, stat.st_gid)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
