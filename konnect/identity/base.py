"""The user model and the capability protocols every identity backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class BackendUnavailable(Exception):
    """The backend cannot answer right now (unreachable, failing); never means "wrong password"."""


@dataclass(frozen=True)
class User:
    """A signed-in or looked-up user, as the provider needs it for tokens and userinfo."""

    subject: str  # the raw backend subject (`kc.i.id`); hashed into the public `sub`
    username: str
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    email_verified: bool = False
    groups: tuple[str, ...] = ()
    uuid: str = ""
    numeric_id: int | None = None
    # A backend session to replay for later look-ups (the cookie backend's cookies); it is
    # only ever stored sealed.
    session: str = ""
    # The upstream authority of a user no backend knows (see `upstream_users`).
    authority: str = ""

    def to_record(self) -> dict[str, Any]:
        """A compact dict for sealing into codes and refresh tokens."""
        record: dict[str, Any] = {"s": self.subject, "u": self.username}
        optional = {
            "n": self.name,
            "gn": self.given_name,
            "fn": self.family_name,
            "e": self.email,
            "ev": self.email_verified,
            "g": list(self.groups),
            "id": self.uuid,
            "ni": self.numeric_id,
            "bs": self.session,
            "au": self.authority,
        }
        record.update({key: value for key, value in optional.items() if value})
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> User:
        return cls(
            subject=str(record["s"]),
            username=str(record["u"]),
            name=str(record.get("n", "")),
            given_name=str(record.get("gn", "")),
            family_name=str(record.get("fn", "")),
            email=str(record.get("e", "")),
            email_verified=bool(record.get("ev", False)),
            groups=tuple(str(group) for group in record.get("g", ())),
            uuid=str(record.get("id", "")),
            numeric_id=int(record["ni"]) if record.get("ni") is not None else None,
            session=str(record.get("bs", "")),
            authority=str(record.get("au", "")),
        )


@runtime_checkable
class PasswordLogon(Protocol):
    """Checks a username and password."""

    async def logon(self, username: str, password: str) -> User | None:
        """The user for valid credentials; None for wrong, unknown or disabled alike."""
        ...


#: Counts an attempt on the account a login name resolved to (None: no such account); it
#: raises to refuse the attempt before the password is checked.
CountAttempt = Callable[[str | None], Awaitable[None]]


@runtime_checkable
class AccountCountedLogon(Protocol):
    """Checks a password after letting the caller count the attempt on the account the login
    name resolves to; for directories that match several spellings of one name."""

    async def logon_counted(
        self, username: str, password: str, count_attempt: CountAttempt
    ) -> User | None:
        """As `PasswordLogon.logon`, calling `count_attempt` between lookup and check."""
        ...


@runtime_checkable
class UserLookup(Protocol):
    """Re-reads a user for refresh, userinfo and authorize, so changes and removals show."""

    async def lookup(self, subject: str) -> User | None:
        """The current user for a raw subject; None when gone or disabled."""
        ...


@runtime_checkable
class UsernameLookup(Protocol):
    """Finds a user by sign-in name alone, for single sign-on vouched for by a trusted proxy."""

    async def lookup_username(self, username: str) -> User | None:
        """The user signing in with this name; None when unknown or disabled."""
        ...


@runtime_checkable
class BrowserSignIn(Protocol):
    """Recognises a user by browser cookies another application set (the cookie backend)."""

    async def from_cookies(
        self, cookies: Mapping[str, str], headers: Mapping[str, str]
    ) -> User | None:
        """The signed-in user, or None when the cookies name nobody."""
        ...

    async def lookup_session(self, subject: str, session: str) -> User | None:
        """The user again, by replaying the session `from_cookies` put into the user."""
        ...


class IdentityBackend(PasswordLogon, UserLookup, Protocol):
    """A backend usable by the identifier (sign-in page) identity manager."""

    name: str  # e.g. "identifier-ldap": the provider tag in tokens and the subject hash
    scopes: tuple[str, ...]  # scopes this backend can fill, beyond openid

    async def close(self) -> None: ...
