"""A SAML identity provider's metadata, and konnect's service provider built from it.

The metadata is fetched through konnect's outgoing client (deadline, bounded answer), kept,
fetched again in the background after an hour, and tried again by itself after an outage;
pysaml2 never goes to the network. Parsing XML and checking signatures (the `xmlsec1`
program) block, so they run in worker threads, a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_TRANSIENT
from saml2.sigver import get_xmlsec_binary

from konnect.authorities.config import AuthoritySettings
from konnect.authorities.upstream import REFRESH_AFTER, RETRY_AFTER, UpstreamUnavailable
from konnect.observe import Events
from konnect.oidc.background import BackgroundTasks
from konnect.outgoing import FetchError, Outgoing, Purpose

#: pysaml2 logs whole assertions (personal data) when it refuses one; konnect logs its own
#: reason instead.
logging.getLogger("saml2").setLevel(logging.CRITICAL)

IDP_METADATA = Purpose("SAML identity provider metadata", 5.0, 4, 1024 * 1024)
#: Seconds of clock difference tolerated between konnect and the identity provider.
LEEWAY = 60
#: XML parsing and signature checks running at once (each may start an xmlsec1 process).
WORKERS = 4
T = TypeVar("T")


class Workers:
    """Worker threads for pysaml2's blocking calls, a few at a time."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(WORKERS)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.to_thread(work, *args)


@dataclass(frozen=True)
class ServiceProvider:
    """konnect as a SAML service provider: its entity id and where the IdP sends answers."""

    entity_id: str
    acs_url: str
    slo_url: str


class _Forgetful:
    """Stands in for pysaml2's in-memory cache of every signed-in person: konnect keeps no
    per-user state in the server."""

    def add_information_about_person(self, session_info: object) -> None:
        return None


class SamlClient:
    """pysaml2's service provider for one identity provider's metadata."""

    def __init__(self, sp: ServiceProvider, idp_metadata: str, iss: str = "") -> None:
        config = SPConfig()
        config.load(_sp_config(sp, idp_metadata))
        self.sp = sp
        self.saml2 = Saml2Client(config=config)
        self.saml2.users = _Forgetful()
        self.idp_entity_id = _identity_provider(list(config.metadata.identity_providers()), iss)
        self.slo_url = _location(
            self.saml2.metadata.single_logout_service(
                self.idp_entity_id, BINDING_HTTP_REDIRECT, "idpsso"
            )
        )
        self.sso_url = _location(
            self.saml2.metadata.single_sign_on_service(self.idp_entity_id, BINDING_HTTP_REDIRECT)
        )
        if not self.sso_url:
            raise ValueError("the identity provider has no redirect binding sign-in service")

    def authn_request(self, relay_state: str) -> tuple[str, str]:
        """A new AuthnRequest's id and the URL that carries it to the identity provider."""
        request_id, info = self.saml2.prepare_for_authenticate(
            entityid=self.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            nameid_format=NAMEID_FORMAT_TRANSIENT,
        )
        return str(request_id), dict(info["headers"])["Location"]


def _identity_provider(entity_ids: list[str], iss: str) -> str:
    """The metadata's only identity provider, or the one `iss` names in a federation's."""
    if iss in entity_ids or len(entity_ids) == 1:
        return iss if iss in entity_ids else entity_ids[0]
    raise ValueError(f"the metadata describes {len(entity_ids)} identity providers, none is iss")


def sp_metadata(sp: ServiceProvider) -> str:
    """konnect's service provider metadata (no identity provider needed)."""
    config = SPConfig()
    config.load(_sp_config(sp, None))
    document = create_metadata_string(None, config=config, valid=None)
    return (document.decode() if isinstance(document, bytes) else str(document)).strip()


def _sp_config(sp: ServiceProvider, idp_metadata: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "entityid": sp.entity_id,
        "xmlsec_binary": get_xmlsec_binary(),
        "accepted_time_diff": LEEWAY,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)],
                    "single_logout_service": [(sp.slo_url, BINDING_HTTP_REDIRECT)],
                },
                "allow_unsolicited": False,
                "authn_requests_signed": False,
                "logout_requests_signed": False,
                "want_assertions_signed": False,
                "want_response_signed": False,
                "want_assertions_or_response_signed": True,
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
            }
        },
    }
    if idp_metadata is not None:
        settings["metadata"] = {"inline": [idp_metadata]}
    return settings


def _location(services: object) -> str:
    if isinstance(services, list) and services and isinstance(services[0], dict):
        return str(services[0].get("location", ""))
    return ""


class SamlUpstream:
    """What konnect knows of one SAML identity provider."""

    def __init__(
        self,
        settings: AuthoritySettings,
        sp: ServiceProvider,
        workers: Workers,
        http: Outgoing,
        clock: Callable[[], float],
        log: logging.Logger,
        events: Events,
    ) -> None:
        self.settings = settings
        self.sp = sp
        self.workers = workers
        self._http = http
        self._clock = clock
        self._log = log
        self._events = events
        self._client: SamlClient | None = None
        self._fetched_at = 0.0
        self._attempted_at = -RETRY_AFTER
        self._lock = asyncio.Lock()

    @property
    def metadata_url(self) -> str:
        return self.settings.metadata_endpoint or self.settings.iss

    async def client(self, background: BackgroundTasks) -> SamlClient:
        """The service provider for the cached metadata; fetched now when there is none
        (UpstreamUnavailable if that fails), fetched again in the background when old."""
        now = self._clock()
        if self._client is None and now - self._attempted_at >= RETRY_AFTER:
            await self.refresh()
        if self._client is None:
            raise UpstreamUnavailable
        if now - self._fetched_at >= REFRESH_AFTER and now - self._attempted_at >= RETRY_AFTER:
            self._attempted_at = now
            background.spawn(self.refresh())
        return self._client

    async def refresh(self) -> None:
        """Fetch the metadata; on failure keep what was known and log why."""
        async with self._lock:
            self._attempted_at = self._clock()
            try:
                client = await self._fetch()
            except FetchError as exc:
                self._log.warning("authority %r: %s", self.settings.id, exc)
                return
            # pysaml2 raises many kinds of errors for metadata it cannot use.
            except Exception as exc:
                self._log.warning(
                    "authority %r: unusable metadata at %s: %s",
                    self.settings.id,
                    self.metadata_url,
                    exc,
                )
                return
            self._client = client
            self._fetched_at = self._clock()

    async def _fetch(self) -> SamlClient:
        """The metadata fetched and read, timed in the metrics; a failure of either counts."""
        async with self._events.authority_call(self.settings.id, "saml_metadata"):
            body = await self._http.get_bytes(self.metadata_url, IDP_METADATA, public_only=False)
            return await self.workers.run(
                SamlClient, self.sp, body.decode("utf-8"), self.settings.iss
            )
