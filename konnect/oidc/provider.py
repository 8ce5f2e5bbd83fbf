"""The provider's live parts, built by the composition root at startup and again on each reload
(around the parts a reload keeps), and passed to endpoints."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from konnect.clients import ClientRegistry
from konnect.identity import BrowserSignIn, IdentityBackend, UpstreamUsers
from konnect.keys import KeySet
from konnect.observe import Events
from konnect.oidc.acr import AcrPolicy
from konnect.oidc.background import BackgroundTasks
from konnect.oidc.grant_lifecycle import GrantLifecycle, GrantPolicy
from konnect.oidc.scopes import ScopeCatalog
from konnect.oidc.session import BrowserCookies
from konnect.oidc.tokens import TokenIssuer
from konnect.oidc.urls import Endpoints
from konnect.outgoing import Outgoing
from konnect.state import StateStore
from konnect.threads import WorkerThreads

if TYPE_CHECKING:
    from konnect.mfa.factors import SecondFactors

T = TypeVar("T")


@functools.lru_cache(maxsize=1024)
def _within(peer: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """Asked on every request, by few distinct peers (proxies, load balancers): cached."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


@dataclass(frozen=True)
class GuestPolicy:
    """Whether registered clients may sign in guests, and how strict their request objects are."""

    enabled: bool = False
    require_exp_jti: bool = False


@dataclass(frozen=True)
class Provider:
    endpoints: Endpoints
    keys: KeySet
    clients: ClientRegistry
    scopes: ScopeCatalog
    backend: IdentityBackend
    store: StateStore
    tokens: TokenIssuer
    cookies: BrowserCookies
    clock: Callable[[], float]
    log: logging.Logger
    guests: GuestPolicy = field(default_factory=GuestPolicy)
    grant_policy: GrantPolicy = field(default_factory=GrantPolicy)
    # Reverse proxies whose forwarded headers are believed.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Whether a trusted proxy's X-Forwarded-User signs that user in (single sign-on).
    forwarded_user_sign_in: bool = False
    # Outgoing HTTP to relying parties (jwks_uri, request_uri, sector identifiers, logout).
    http: Outgoing = field(default_factory=Outgoing)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    # Metrics and the audit log: every security-relevant action is reported here once.
    events: Events = field(default_factory=Events)
    signing_pool: WorkerThreads = field(default_factory=lambda: WorkerThreads("konnect-sign"))
    # Users who exist only at an upstream authority, beside the backend's.
    upstream_users: UpstreamUsers = field(default_factory=UpstreamUsers)
    # The acr values relying parties may ask for, and the strongest level reachable.
    acr: AcrPolicy = field(default_factory=AcrPolicy)
    # Multi-factor sign-in, when it is on.
    second_factors: SecondFactors | None = None

    @cached_property
    def browser_sign_in(self) -> BrowserSignIn | None:
        """The backend when it recognises browsers by their cookies (checked once: a
        protocol check costs more than the rest of a userinfo request's Python)."""
        return self.backend if isinstance(self.backend, BrowserSignIn) else None

    @cached_property
    def lifecycle(self) -> GrantLifecycle:
        """The grant-state rules: single-use codes and jtis, rotation, revocation."""
        lifetime = self.tokens.lifetimes.refresh_token
        return GrantLifecycle(
            self.store, lifetime, self.clock, self.log, self.grant_policy, self.events
        )

    @property
    def issuer(self) -> str:
        return self.endpoints.issuer

    def is_trusted_proxy(self, peer: str) -> bool:
        """Whether the TCP peer address is one of the configured trusted proxies."""
        return bool(self.trusted_proxies) and _within(peer, self.trusted_proxies)

    def now(self) -> int:
        return int(self.clock())

    async def signing(self, work: Callable[[], T], alg: str | None = None) -> T:
        """Run work that signs with `alg`: RSA signatures (about 1 ms) go to the signing pool
        so both cores can sign; EC and EdDSA ones are cheaper than the thread hop."""
        alg = self.keys.signing_alg_for(alg)

        def timed() -> T:
            with self.events.signing(alg):
                return work()

        if not alg.startswith(("RS", "PS")):
            return timed()
        return await self.signing_pool.run(timed)
