"""An upstream provider's metadata and keys: discovered from its issuer (or configured),
cached, refreshed in the background, and fetched again by themselves after an outage.

Upstream URLs come from the operator, like registry clients: no address policy, but the
outgoing client's deadline and bounded answers. Each fetch is timed in the metrics
(`discovery`, `jwks`), a failed one counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from konnect.authorities.config import AuthoritySettings, acceptable_url
from konnect.observe import Events
from konnect.oidc.background import BackgroundTasks
from konnect.oidc.errors import OAuthError
from konnect.outgoing import FetchError, Outgoing, Purpose

UPSTREAM = Purpose("upstream provider", 5.0, 8, 256 * 1024)
#: Cached metadata and keys are fetched again in the background after this many seconds.
REFRESH_AFTER = 3600.0
#: After a failed fetch, a request waits this long before it tries again itself.
RETRY_AFTER = 5.0
#: An unknown key id fetches the keys again at most this often.
KEYS_RETRY_AFTER = 60.0


class UpstreamUnavailable(OAuthError):
    def __init__(self) -> None:
        super().__init__(
            "temporarily_unavailable", "the identity provider cannot be reached right now"
        )


@dataclass(frozen=True)
class UpstreamMetadata:
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str
    jwks: Mapping[str, Any]


class Upstream:
    """What konnect knows of one upstream provider."""

    def __init__(
        self,
        settings: AuthoritySettings,
        http: Outgoing,
        clock: Callable[[], float],
        log: logging.Logger,
        events: Events,
    ) -> None:
        self.settings = settings
        self._http = http
        self._clock = clock
        self._log = log
        self._events = events
        self._metadata: UpstreamMetadata | None = None
        self._fetched_at = 0.0
        self._attempted_at = -RETRY_AFTER
        self._lock = asyncio.Lock()

    async def metadata(self, background: BackgroundTasks) -> UpstreamMetadata:
        """The cached metadata; fetched now when there is none (UpstreamUnavailable if that
        fails), fetched again in the background when old."""
        now = self._clock()
        if self._metadata is None and now - self._attempted_at >= RETRY_AFTER:
            await self.refresh()
        if self._metadata is None:
            raise UpstreamUnavailable
        if now - self._fetched_at >= REFRESH_AFTER and now - self._attempted_at >= RETRY_AFTER:
            self._attempted_at = now
            background.spawn(self.refresh())
        return self._metadata

    async def keys(self, kid: object) -> Mapping[str, Any]:
        """The upstream's JWK set, fetched again first when it lacks `kid` (a rotated key)."""
        metadata = self._metadata
        if metadata is None:
            raise UpstreamUnavailable
        known = {key.get("kid") for key in metadata.jwks.get("keys", []) if isinstance(key, dict)}
        if kid not in known and self._clock() - self._fetched_at >= KEYS_RETRY_AFTER:
            await self.refresh()
        return (self._metadata or metadata).jwks

    async def refresh(self) -> None:
        """Fetch metadata and keys; on failure keep what was known and log why."""
        async with self._lock:
            self._attempted_at = self._clock()
            try:
                metadata = await self._fetch()
            except FetchError as exc:
                self._log.warning("authority %r: %s", self.settings.id, exc)
                return
            self._metadata = metadata
            self._fetched_at = self._clock()

    async def _fetch(self) -> UpstreamMetadata:
        settings = self.settings
        document: Mapping[str, Any] = {}
        if settings.discover:
            document = await self._json(settings.discovery_url, "discovery")
            if document.get("issuer") != settings.iss:
                raise FetchError(f"{settings.discovery_url} names another issuer")
        endpoints = {
            key: getattr(settings, key) or _text(document.get(key))
            for key in ("authorization_endpoint", "token_endpoint", "end_session_endpoint")
        }
        for key, url in endpoints.items():
            if url and not acceptable_url(url, settings.insecure):
                raise FetchError(f"{key} {url!r} is not an https URL")
        if not endpoints["authorization_endpoint"]:
            raise FetchError("no authorization_endpoint")
        if settings.response_type == "code" and not endpoints["token_endpoint"]:
            raise FetchError("no token_endpoint")
        jwks = settings.jwks or await self._json(self._jwks_uri(document), "jwks")
        if not isinstance(jwks.get("keys"), list):
            raise FetchError("the JWK set has no keys")
        return UpstreamMetadata(jwks=jwks, **endpoints)

    def _jwks_uri(self, document: Mapping[str, Any]) -> str:
        uri = _text(document.get("jwks_uri"))
        if not acceptable_url(uri, self.settings.insecure):
            raise FetchError("no https jwks_uri")
        return uri

    async def _json(self, url: str, operation: str) -> Mapping[str, Any]:
        async with self._events.authority_call(self.settings.id, operation, FetchError):
            document = await self._http.get_json(url, UPSTREAM, public_only=False)
        if not isinstance(document, dict):
            raise FetchError(f"{url} did not answer with a JSON object")
        return document


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
