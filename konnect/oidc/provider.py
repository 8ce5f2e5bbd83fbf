"""The provider's live parts, built once by the composition root and passed to endpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from konnect.clients import ClientRegistry
from konnect.identity import IdentityBackend
from konnect.keys import KeySet
from konnect.oidc.scopes import ScopeCatalog
from konnect.oidc.session import BrowserCookies
from konnect.oidc.tokens import TokenIssuer
from konnect.oidc.urls import Endpoints
from konnect.state import StateStore


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

    @property
    def issuer(self) -> str:
        return self.endpoints.issuer

    def now(self) -> int:
        return int(self.clock())
