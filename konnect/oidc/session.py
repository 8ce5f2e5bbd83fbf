"""Browser-side state in cookies: the logon, the OIDC session, browser state and consent.

The identifier writes the logon and consent cookies; the authorization endpoint reads them.
Every cookie value is AES-GCM sealed with its own purpose, except the browser-state cookie,
which the check-session iframe must read from script (it only holds a hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from konnect.crypto import Sealer, consent_cookie_name
from konnect.identity import User
from konnect.oidc.urls import CookiePolicy, Endpoints

LOGON_COOKIE = "KKT"
SESSION_COOKIE = "KKCS"
BROWSER_STATE_COOKIE = "KKBS"
KNOWN_BROWSER_COOKIE = "KKKB"
KNOWN_BROWSER_MAX_AGE = 180 * 86_400
MAX_KNOWN_NAMES = 8
CONSENT_MAX_AGE = 60
LOGOUT_FRAMES_MAX_AGE = 300
LOGOUT_RETURN_MAX_AGE = 1800


@dataclass(frozen=True)
class Logon:
    """A signed-in browser: who, with which backend, since when, and in which sign-in session
    (its id is what a sign-out revokes; guests and cookie-backend users have none)."""

    subject: str
    username: str
    display_name: str
    provider: str
    logon_time: int
    session_id: str = ""
    last_seen: int = 0
    # The whole user, for a user no backend can look up again (upstream-only users).
    user: User | None = None
    # RFC 8176 methods of this sign-in ("pwd", "otp", "hwk", ...), in the order used.
    amr: tuple[str, ...] = ()
    # When a second factor (or a passkey) was last verified; 0 when none was.
    mfa_time: int = 0
    # The account's epoch at sign-in: a later epoch (factors reset) ends this sign-in.
    epoch: int = 0
    # When the sign-in ends, whatever its lifetimes say (a SAML SessionNotOnOrAfter); 0: never.
    not_after: int = 0


@dataclass(frozen=True)
class SessionLifetime:
    """How long a sign-in lasts: at most `absolute` seconds, and `idle` seconds unused."""

    absolute: int = 36_000
    idle: int = 3_600
    #: The idle clock restarts on use, but the cookie is rewritten at most this often.
    refresh_after: int = 60


@dataclass(frozen=True)
class OidcSession:
    """The session relying parties know by `sid`, and the salt of its browser state."""

    sid: str
    browser_salt: str


@dataclass(frozen=True)
class Consent:
    allow: bool
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class CookieSpec:
    """A cookie to set (value) or delete (value None), with its path and attributes."""

    name: str
    value: str | None
    path: str
    http_only: bool = True
    max_age: int | None = None


def _methods(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("amr is not a list of strings")
    return tuple(value)


class BrowserCookies:
    """Reads and writes konnect's browser cookies under one cookie policy."""

    def __init__(
        self,
        sealer: Sealer,
        policy: CookiePolicy,
        endpoints: Endpoints,
        lifetime: SessionLifetime | None = None,
    ) -> None:
        self._sealer = sealer
        self.lifetime = lifetime or SessionLifetime()
        self.policy = policy
        self._endpoints = endpoints
        self.logon_name = policy.name(LOGON_COOKIE)
        self.session_name = policy.name(SESSION_COOKIE)
        self.browser_state_name = policy.name(BROWSER_STATE_COOKIE)
        self.known_browser_name = policy.name(KNOWN_BROWSER_COOKIE)

    @property
    def sealer(self) -> Sealer:
        """The sealer of every browser cookie (for cookies other packages define)."""
        return self._sealer

    # -- logon --------------------------------------------------------------------------
    def logon(self, value: Logon) -> CookieSpec:
        record = {
            "s": value.subject,
            "u": value.username,
            "dn": value.display_name,
            "p": value.provider,
            "iat": value.logon_time,
            "sid": value.session_id,
            "ls": value.last_seen or value.logon_time,
        }
        if value.user is not None:
            record["us"] = value.user.to_record()
        if value.amr:
            record["amr"] = list(value.amr)
        if value.mfa_time:
            record["mt"] = value.mfa_time
        if value.epoch:
            record["ep"] = value.epoch
        if value.not_after:
            record["na"] = value.not_after
        sealed = self._sealer.seal_json(record, "konnect-logon-v1")
        return CookieSpec(self.logon_name, sealed, self._endpoints.identifier_api)

    def read_logon(
        self, cookies: Mapping[str, str], *, now: int, max_age: int | None = None
    ) -> Logon | None:
        """The signed-in user, or None when absent, tampered, past one of the session's
        lifetimes, or older than max_age. Whether it was signed out, the store knows."""
        record = self._sealer.open_json(cookies.get(self.logon_name, ""), "konnect-logon-v1")
        if record is None:
            return None
        try:
            logon = Logon(
                str(record["s"]),
                str(record["u"]),
                str(record.get("dn", "")),
                str(record["p"]),
                int(record["iat"]),
                str(record["sid"]),
                int(record["ls"]),
                User.from_record(record["us"]) if "us" in record else None,
                _methods(record.get("amr", [])),
                int(record.get("mt", 0)),
                int(record.get("ep", 0)),
                int(record.get("na", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if not logon.subject or not logon.session_id or logon.logon_time <= 0:
            return None
        if not self._alive(logon, now):
            return None
        if max_age is not None and logon.logon_time + max_age < now:
            return None
        return logon

    def session_id(self, cookies: Mapping[str, str]) -> str:
        """The sign-in session id of a logon cookie, whatever its age ("" without one)."""
        record = self._sealer.open_json(cookies.get(self.logon_name, ""), "konnect-logon-v1")
        session_id = record.get("sid") if record else None
        return session_id if isinstance(session_id, str) else ""

    def _alive(self, logon: Logon, now: int) -> bool:
        lifetime = self.lifetime
        if logon.not_after and now >= logon.not_after:
            return False
        return now < logon.logon_time + lifetime.absolute and now < logon.last_seen + lifetime.idle

    def kept_alive(self, logon: Logon, now: int) -> list[CookieSpec]:
        """The logon cookie with its idle clock restarted, when it is due to be rewritten."""
        if not logon.session_id or now - logon.last_seen < self.lifetime.refresh_after:
            return []
        return [self.logon(replace(logon, last_seen=now))]

    def delete_logon(self) -> CookieSpec:
        return CookieSpec(self.logon_name, None, self._endpoints.identifier_api)

    # -- OIDC session (sid) ----------------------------------------------------------------
    def session(
        self,
        session: OidcSession,
        public_sub: str,
        provider: str,
        clients: tuple[str, ...] = (),
    ) -> CookieSpec:
        """`clients`: the clients with a logout channel that got tokens in this session."""
        record: dict[str, Any] = {
            "id": session.sid,
            "bs": session.browser_salt,
            "sub": public_sub,
            "p": provider,
        }
        if clients:
            record["c"] = list(clients)
        sealed = self._sealer.seal_json(record, "konnect-session-v1")
        return CookieSpec(self.session_name, sealed, self._endpoints.identifier_api.rstrip("/"))

    def read_session(self, cookies: Mapping[str, str]) -> dict[str, Any] | None:
        return self._sealer.open_json(cookies.get(self.session_name, ""), "konnect-session-v1")

    @staticmethod
    def session_clients(record: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The client ids a session cookie remembers (see `session`)."""
        listed = record.get("c") if record else None
        if not isinstance(listed, list):
            return ()
        return tuple(item for item in listed if isinstance(item, str))

    def delete_session(self) -> CookieSpec:
        return CookieSpec(self.session_name, None, self._endpoints.identifier_api.rstrip("/"))

    # -- front-channel logout after a sign-out in the web app ---------------------------------
    def seal_logout_frames(self, urls: list[str], next_url: str, now: int) -> str:
        """The front-channel URIs of an ended session and where to go after them."""
        record = {"u": urls, "n": next_url, "exp": now + LOGOUT_FRAMES_MAX_AGE}
        return self._sealer.seal_json(record, "konnect-logout-frames-v1")

    def open_logout_frames(self, token: str, now: int) -> tuple[list[str], str] | None:
        record = self._open_fresh(token, "konnect-logout-frames-v1", now)
        urls, next_url = (record.get("u"), record.get("n")) if record else (None, None)
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            return None
        return (urls, next_url) if isinstance(next_url, str) else None

    # -- RP-initiated logout confirmed in the web app ----------------------------------------
    def seal_logout_return(self, location: str, now: int) -> str:
        """Where to send the browser once the user confirmed the sign-out (already checked)."""
        record = {"l": location, "exp": now + LOGOUT_RETURN_MAX_AGE}
        return self._sealer.seal_json(record, "konnect-logout-return-v1")

    def open_logout_return(self, token: str, now: int) -> str | None:
        record = self._open_fresh(token, "konnect-logout-return-v1", now)
        location = record.get("l") if record else None
        return location if isinstance(location, str) else None

    def _open_fresh(self, token: str, purpose: str, now: int) -> dict[str, Any] | None:
        record = self._sealer.open_json(token, purpose)
        if record is None or not isinstance(record.get("exp"), int) or record["exp"] < now:
            return None
        return record

    # -- a browser users signed in with before (its own sign-in throttle budget) -------------
    def known_browser(self, browser_id: str, names: tuple[str, ...]) -> CookieSpec:
        """Remembers the canonical names that signed in here with a password, newest last."""
        record = {"id": browser_id, "u": list(names[-MAX_KNOWN_NAMES:])}
        sealed = self._sealer.seal_json(record, "konnect-known-browser-v1")
        return CookieSpec(
            self.known_browser_name,
            sealed,
            self._endpoints.identifier_api,
            max_age=KNOWN_BROWSER_MAX_AGE,
        )

    def read_known_browser(self, cookies: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        """The browser's id and the names that signed in here; ("", ()) when unknown."""
        record = self._sealer.open_json(
            cookies.get(self.known_browser_name, ""), "konnect-known-browser-v1"
        )
        browser_id = record.get("id") if record else None
        names = record.get("u") if record else None
        if not isinstance(browser_id, str) or not isinstance(names, list):
            return "", ()
        return browser_id, tuple(name for name in names if isinstance(name, str))

    # -- browser state (read by the check-session iframe) ------------------------------------
    def browser_state(self, value: str) -> CookieSpec:
        return CookieSpec(
            self.browser_state_name, value, self._endpoints.session_path, http_only=False
        )

    def delete_browser_state(self) -> CookieSpec:
        return CookieSpec(
            self.browser_state_name, None, self._endpoints.session_path, http_only=False
        )

    # -- consent (60 s, single use, bound to the request by its name) ---------------------------
    def consent_name(
        self, state: str, client_id: str, redirect_uri: str, ref: str, nonce: str
    ) -> str:
        return consent_cookie_name(self.policy.prefix, state, client_id, redirect_uri, ref, nonce)

    def consent(self, name: str, value: Consent, now: int) -> CookieSpec:
        record = {
            "allow": value.allow,
            "scope": " ".join(value.scopes) if value.allow else "",
            "exp": now + CONSENT_MAX_AGE,
        }
        sealed = self._sealer.seal_json(record, "konnect-consent-v1:" + name)
        return CookieSpec(name, sealed, self._endpoints.identifier_api, max_age=CONSENT_MAX_AGE)

    def read_consent(self, cookies: Mapping[str, str], name: str, now: int) -> Consent | None:
        record = self._sealer.open_json(cookies.get(name, ""), "konnect-consent-v1:" + name)
        if record is None or not isinstance(record.get("exp"), int) or record["exp"] < now:
            return None
        scope = record.get("scope", "")
        return Consent(bool(record.get("allow")), tuple(str(scope).split()))

    def delete_consent(self, name: str) -> CookieSpec:
        return CookieSpec(name, None, self._endpoints.identifier_api)
