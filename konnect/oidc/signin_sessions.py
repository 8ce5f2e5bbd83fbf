"""Sign-in sessions across instances: a logon cookie counts only until its session is signed
out. A sign-out is marked in the state store for as long as the session could have lasted,
so a copy of the cookie taken before signs no one in afterwards, at any instance. Nor does
one made before its account's epoch was raised (see `account_epoch`).

Also who a sign-in is now (`logon_user`): the identity backend is asked again, except for
a user who exists only upstream, whom the sign-in carries; and, with the cookie backend, who
the browser's cookies (or a token's replayed session) belong to (`cookie_user`,
`cookie_session_user`). Each backend call is timed and counted in the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from konnect.identity import UPSTREAM_PROVIDER, BackendUnavailable, BrowserSignIn, User
from konnect.observe.events import backend_label
from konnect.oidc.account_epoch import EpochUnavailable, current_epoch
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.session import Logon
from konnect.state import StateStoreUnavailable

SIGNED_OUT_KEY = "signed-out:"


async def current_logon(
    provider: Provider, cookies: Mapping[str, str], *, max_age: int | None = None
) -> Logon | None:
    """The browser's sign-in, unless it is absent, too old, was signed out or was made
    before its account's epoch was raised."""
    logon = provider.cookies.read_logon(cookies, now=provider.now(), max_age=max_age)
    if logon is None:
        return None
    try:
        signed_out = await provider.store.get(SIGNED_OUT_KEY + logon.session_id)
        epoch = await current_epoch(provider, logon.provider, logon.subject)
    except (StateStoreUnavailable, EpochUnavailable) as exc:
        provider.log.error("sign-in not honoured, a store is unavailable: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None
    return None if signed_out is not None or logon.epoch < epoch else logon


async def end_signin_session(provider: Provider, cookies: Mapping[str, str]) -> None:
    """Mark the browser's sign-in session as signed out, for every instance. Also when this
    copy of the cookie went idle: another copy may have been kept in use."""
    session_id = provider.cookies.session_id(cookies)
    if not session_id:
        return
    try:
        await sign_out_session(provider, session_id)
    except StateStoreUnavailable as exc:
        provider.log.error("sign-out not recorded, state store unavailable: %s", exc)


async def sign_out_session(provider: Provider, session_id: str) -> None:
    """Mark a sign-in session as signed out, for every instance."""
    await provider.store.put(SIGNED_OUT_KEY + session_id, "1", provider.cookies.lifetime.absolute)


async def logon_user(provider: Provider, logon: Logon) -> User | None:
    """The user of a sign-in as they are now: read again from the identity backend, or as
    signed in while their upstream authority still admits upstream-only users. None when
    gone; BackendUnavailable when the backend cannot answer."""
    if logon.provider == UPSTREAM_PROVIDER:
        return provider.upstream_users.current(logon.user)
    if logon.provider != provider.backend.name:
        return None
    timed = provider.events.backend_call(
        backend_label(provider.backend), "lookup", BackendUnavailable
    )
    async with timed:
        return await provider.backend.lookup(logon.subject)


async def cookie_user(
    provider: Provider,
    backend: BrowserSignIn,
    cookies: Mapping[str, str],
    headers: Mapping[str, str],
) -> User | None:
    """The user the cookie backend finds for the browser's cookies (see `from_cookies`)."""
    async with provider.events.backend_call(backend_label(backend), "session", BackendUnavailable):
        return await backend.from_cookies(cookies, headers)


async def cookie_session_user(
    provider: Provider, backend: BrowserSignIn, subject: str, session: str
) -> User | None:
    """The cookie backend's user again, by the session a token carries."""
    async with provider.events.backend_call(backend_label(backend), "session", BackendUnavailable):
        return await backend.lookup_session(subject, session)
