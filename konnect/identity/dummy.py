"""The dummy backend (`serve ... dummy`): every browser is signed in as one fixed test user.

For trying out relying parties without any directory; never for production, which the
server says in its log when it starts with this backend.
"""

from __future__ import annotations

from collections.abc import Mapping

from konnect.identity.base import User

BACKEND_NAME = "dummy"
DUMMY_USER = User(
    subject="dummy",
    username="dummy",
    name="Foo Dummy",
    given_name="Foo",
    family_name="Dummy",
    email="dummy@dummy.local",
    session="dummy",
)


class DummyBackend:
    """Signs in nobody by password and everybody as `dummy` by browser."""

    name: str = BACKEND_NAME
    scopes: tuple[str, ...] = ("profile", "email")

    async def from_cookies(
        self, cookies: Mapping[str, str], headers: Mapping[str, str]
    ) -> User | None:
        return DUMMY_USER

    async def lookup_session(self, subject: str, session: str) -> User | None:
        return await self.lookup(subject)

    async def logon(self, username: str, password: str) -> User | None:
        return None

    async def lookup(self, subject: str) -> User | None:
        return DUMMY_USER if subject == DUMMY_USER.subject else None

    async def close(self) -> None:
        return None
