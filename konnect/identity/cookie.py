"""The cookie backend: another web application decides who is signed in.

The browser's allow-listed cookies are forwarded to the backend URL. `200`/`202` with a JSON
user means signed in, `401`/`403` means not signed in, anything else is a broken backend.
The forwarded cookies travel on with the user (sealed) so userinfo can ask again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import konnect
from konnect.identity.base import BackendUnavailable, User
from konnect.outgoing import FetchError, Outgoing, Purpose
from konnect.strict_json import parse_json

BACKEND_NAME = "cookie"
_SCOPES = ("profile", "email", "konnect/id")
_FORWARDED_HEADERS = ("accept-language", "user-agent")


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    return value if isinstance(value, str) else ""


def user_from_document(document: Any, session: str) -> User:
    """The user a backend answer describes; `sub` is required."""
    if not isinstance(document, dict) or not _text(document, "sub"):
        raise BackendUnavailable("cookie backend answered without a string 'sub'")
    numeric = document.get("id")
    return User(
        subject=_text(document, "sub"),
        username=_text(document, "preferred_username") or _text(document, "sub"),
        name=_text(document, "name"),
        given_name=_text(document, "given_name"),
        family_name=_text(document, "family_name"),
        email=_text(document, "email"),
        email_verified=document.get("email_verified") is True,
        numeric_id=numeric if isinstance(numeric, int) and not isinstance(numeric, bool) else None,
        session=session,
    )


class CookieBackend:
    """Asks the backend URL who the forwarded cookies belong to; never checks passwords."""

    name: str = BACKEND_NAME
    scopes: tuple[str, ...] = _SCOPES

    def __init__(
        self, url: str, cookie_names: tuple[str, ...], *, verify: bool, timeout: float
    ) -> None:
        self._url = url
        self._names = frozenset(cookie_names)
        # The operator chose the URL: no address policy, but bounded like every fetch.
        self._http = Outgoing(verify=verify)
        self._purpose = Purpose("cookie backend", float(timeout), 64, 64 * 1024)

    def _cookie_header(self, cookies: Mapping[str, str]) -> str:
        chosen = {
            name: value for name, value in cookies.items() if not self._names or name in self._names
        }
        return "; ".join(f"{name}={value}" for name, value in sorted(chosen.items()))

    async def from_cookies(
        self, cookies: Mapping[str, str], headers: Mapping[str, str]
    ) -> User | None:
        session = self._cookie_header(cookies)
        if not session:
            return None
        forwarded = {name: headers[name] for name in _FORWARDED_HEADERS if name in headers}
        return await self._ask(session, forwarded)

    async def lookup_session(self, subject: str, session: str) -> User | None:
        user = await self._ask(session, {}) if session else None
        return user if user is not None and user.subject == subject else None

    async def _ask(self, session: str, headers: dict[str, str]) -> User | None:
        headers = {
            **headers,
            "Cookie": session,
            "X-Konnect-Request": f"1/{konnect.__version__}",
        }
        try:
            answer = await self._http.request(
                self._purpose, "POST", self._url, headers=headers, public_only=False
            )
        except FetchError as exc:
            raise BackendUnavailable(f"cookie backend unavailable: {exc}") from None
        if answer.status in (401, 403):
            return None
        if answer.status not in (200, 202):
            raise BackendUnavailable(f"cookie backend answered {answer.status}")
        try:
            document = parse_json(answer.body)
        except ValueError:
            raise BackendUnavailable("cookie backend answered no JSON") from None
        return user_from_document(document, session)

    async def logon(self, username: str, password: str) -> User | None:
        return None  # people sign in at the backend's own page

    async def lookup(self, subject: str) -> User | None:
        return None  # only a replayed session can find a cookie user again

    async def close(self) -> None:
        await self._http.close()
