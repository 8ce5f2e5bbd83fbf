"""The LDAP identity backend: sign-in by search and bind, and re-reading users by subject.

Directory calls run in worker threads, at most LDAP_POOL_SIZE at once; a call waits at most
LDAP_TIMEOUT for its turn. Wrong, unknown and disabled users are all `None`; a directory that
cannot answer raises `BackendUnavailable`, logged once per outage.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from konnect.config.errors import ConfigError
from konnect.identity.base import BackendUnavailable, CountAttempt, User
from konnect.identity.ldap.directory import Directory, DirectoryDown
from konnect.identity.ldap.entries import (
    Entry,
    group_names,
    matches_login,
    parse_sub_attributes,
    to_user,
    user_attributes,
)
from konnect.identity.ldap.filters import and_filter, compiled_filter, equality_filter, group_filter
from konnect.identity.ldap.settings import LdapSettings

BACKEND_NAME = "identifier-ldap"
_SCOPES = ("profile", "email", "konnect/uuid", "konnect/raw_sub")
_MAX_GROUP_DEPTH = 8

log = logging.getLogger("konnect.identity.ldap")
T = TypeVar("T")


class _Health:
    """Logs an outage once when it starts and once when the directory answers again."""

    def __init__(self) -> None:
        self.down_since_reason: str | None = None

    def failed(self, reason: str) -> None:
        if self.down_since_reason is None:
            log.warning("LDAP directory unavailable: %s", reason)
        self.down_since_reason = reason

    def succeeded(self) -> None:
        if self.down_since_reason is not None:
            log.info("LDAP directory available again")
        self.down_since_reason = None


class LdapBackend:
    """Users from an LDAP directory (OpenLDAP, Active Directory, ...)."""

    name: str = BACKEND_NAME

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self.scopes: tuple[str, ...] = (
            *_SCOPES,
            *(("konnect/id",) if settings.uidnumber_attribute else ()),
            *(("groups",) if settings.groups != "none" else ()),
        )
        servers = " ".join(server.uri for server in settings.servers)
        log.info("LDAP: users from %s under %s", servers, settings.base_dn)
        if settings.insecure and settings.uses_tls:
            log.warning("LDAP: TLS certificates and host names are not checked (--insecure)")
        self._directory = Directory(settings)
        self._attributes = user_attributes(settings)
        self._user_filter = _compile("LDAP_FILTER", settings.user_filter)
        if settings.groups == "search":
            _compile("LDAP_GROUP_FILTER", group_filter(settings, "cn=x", "x"))
        self._health = _Health()
        # Binding as this entry, which does not exist, fails like a wrong password does.
        self._nobody = f"cn=konnect-nobody-{secrets.token_hex(8)},{settings.base_dn}"
        # The executor bounds the threads; the semaphore bounds how long a request waits.
        self._executor = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="ldap")
        self._slots = asyncio.Semaphore(settings.pool_size)

    async def logon(self, username: str, password: str) -> User | None:
        return await self.logon_counted(username, password, _uncounted)

    async def logon_counted(
        self, username: str, password: str, count_attempt: CountAttempt
    ) -> User | None:
        """Search, let the caller count the attempt on the entry found, then bind. Unknown
        and disabled names bind too, as nobody, so they take as long as a wrong password."""
        if not username or not password:
            return None
        entry = await self._call(lambda: self._find_by_login(username))
        await count_attempt(entry.dn.lower() if entry else None)
        return await self._call(lambda: self._bind(entry, password))

    async def lookup(self, subject: str) -> User | None:
        if not subject:
            return None
        return await self._call(lambda: self._lookup(subject))

    async def lookup_username(self, username: str) -> User | None:
        if not username:
            return None
        return await self._call(lambda: self._lookup_username(username))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._directory.close)
        self._executor.shutdown(wait=False)

    async def _call(self, work: Callable[[], T]) -> T:
        """Run blocking directory work in a worker thread, bounded in number and waiting time."""
        await self._take_slot()
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except DirectoryDown as exc:
            self._health.failed(str(exc))
            raise BackendUnavailable(f"the directory is unavailable: {exc}") from None
        except Exception as exc:  # an entry konnect cannot handle: unavailable, never a 500
            log.exception("LDAP: unexpected failure")
            raise BackendUnavailable(f"the directory answer was not usable: {exc}") from None
        finally:
            self._slots.release()
        self._health.succeeded()
        return result

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no timer needed
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.timeout)
        except TimeoutError:
            self._health.failed("no directory connection became free in time")
            raise BackendUnavailable("the directory is not answering in time") from None

    # -- blocking parts, run in worker threads ---------------------------------------------

    def _bind(self, entry: Entry | None, password: str) -> User | None:
        dn = entry.dn if entry is not None else self._nobody
        if not self._directory.check_password(dn, password) or entry is None:
            return None
        return to_user(self.settings, entry, self._groups(entry))

    def _lookup_username(self, username: str) -> User | None:
        entry = self._find_by_login(username)
        return None if entry is None else to_user(self.settings, entry, self._groups(entry))

    def _find_by_login(self, username: str) -> Entry | None:
        settings = self.settings
        login = equality_filter(settings.login_attributes, username)
        entries = self._directory.search(
            settings.base_dn, settings.scope, and_filter(self._user_filter, login), self._attributes
        )
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("LDAP: more than one entry matches a login name; refusing sign-in")
            return None
        entry = entries[0]
        if entry.disabled or not matches_login(settings, entry, username):
            return None
        return entry

    def _lookup(self, subject: str) -> User | None:
        entry = self._find_by_subject(subject)
        if entry is None or entry.disabled:
            return None
        user = to_user(self.settings, entry, self._groups(entry))
        return user if user.subject.lower() == subject.lower() else None

    def _find_by_subject(self, subject: str) -> Entry | None:
        settings = self.settings
        if not settings.sub_attributes:
            entries = self._directory.search(subject, "base", self._user_filter, self._attributes)
        else:
            pairs = parse_sub_attributes(settings, subject)
            if pairs is None:
                return None
            matches = [equality_filter((name,), value) for name, value in pairs]
            search_filter = and_filter(self._user_filter, *matches)
            entries = self._directory.search(
                settings.base_dn, settings.scope, search_filter, self._attributes
            )
        return entries[0] if len(entries) == 1 else None

    def _groups(self, entry: Entry) -> tuple[str, ...]:
        settings = self.settings
        if settings.groups == "memberof":
            return group_names(entry.texts(settings.group_attribute))
        if settings.groups != "search":
            return ()
        names: set[str] = set()
        seen: set[str] = set()
        members = [entry.dn]
        login = entry.text(settings.login_attributes[0])
        for _ in range(_MAX_GROUP_DEPTH if settings.nested_groups else 1):
            found = []
            for member in members:
                search_filter = compiled_filter(group_filter(settings, member, login))
                found.extend(
                    self._directory.search(
                        settings.group_base_dn,
                        "sub",
                        search_filter,
                        [settings.group_name_attribute],
                        limit=0,
                    )
                )
            members = [group.dn for group in found if group.dn.lower() not in seen]
            seen.update(dn.lower() for dn in members)
            names.update(group.text(settings.group_name_attribute) for group in found)
            if not members:
                break
        return tuple(sorted((name for name in names if name), key=str.lower))


async def _uncounted(account: str | None) -> None:
    return None


def _compile(name: str, search_filter: str) -> bytes:
    try:
        return compiled_filter(search_filter)
    except ValueError as exc:
        raise ConfigError(
            [f"{name}: '{search_filter}' is not a valid LDAP filter ({exc})"]
        ) from None
