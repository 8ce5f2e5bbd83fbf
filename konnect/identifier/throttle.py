"""Sign-in throttling: each password attempt is counted before the password is checked, per
user name (in its canonical spelling), per account the backend resolved it to, and per
client address. A browser that signed in as a user before has its own count for that user,
so strangers guessing passwords cannot lock the user out of it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from konnect.oidc.errors import OAuthError
from konnect.state import StateStore
from konnect.state.counters import give_back

WINDOW = 300


@dataclass(frozen=True)
class ThrottleLimits:
    """Attempts allowed per window: per user name (and account) and per client address."""

    per_user: int = 10
    per_address: int = 100


def canonical_name(username: str) -> str:
    """The spelling directories treat as the same name: NFKC, case folded, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return " ".join(folded.split())


def _refused() -> OAuthError:
    return OAuthError("slow_down", "too many failed sign-in attempts, try again later")


@dataclass
class Attempt:
    """One sign-in attempt and the counters it took a place in."""

    store: StateStore
    limits: ThrottleLimits
    scope: str  # "" or the known browser's id: whose counts the user's attempts go to
    name: str
    reserved: list[str] = field(default_factory=list)

    async def _take(self, key: str, limit: int) -> None:
        count = await self.store.increment(key, WINDOW)
        self.reserved.append(key)
        if count > limit:
            raise _refused()

    async def begin(self, address: str) -> None:
        """Count the attempt for the client address and the user name; refuse over a limit."""
        await self._take("sign-in:address:" + address, self.limits.per_address)
        await self._take(f"sign-in:{self.scope}user:{self.name}", self.limits.per_user)

    async def count_account(self, account: str | None) -> None:
        """Count it for the account the name resolved to (unknown names: by name again)."""
        target = "account:" + account if account is not None else "unknown:" + self.name
        await self._take(f"sign-in:{self.scope}{target}", self.limits.per_user)

    async def succeeded(self) -> None:
        """A right password: give the places back, so sign-ins never use up a budget."""
        for key in self.reserved:
            await give_back(self.store, key, WINDOW)


class SignInThrottle:
    def __init__(self, store: StateStore, limits: ThrottleLimits) -> None:
        self._store = store
        self.limits = limits

    def attempt(self, username: str, known_browser: str | None) -> Attempt:
        scope = f"browser:{known_browser}:" if known_browser else ""
        return Attempt(self._store, self.limits, scope, canonical_name(username))
