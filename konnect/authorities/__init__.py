"""Upstream authorities as identity sources: users sign in at another OpenID provider or
SAML 2.0 identity provider (`authorities:` in the client registry) and get konnect's own
subject, claims and tokens.

May import: config, crypto, outgoing, keys, clients, identity, state, oidc, identifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.routing import Route

from konnect.authorities.config import AuthoritySettings, read_authorities
from konnect.authorities.flow import RoundTrip, UpstreamSignOut
from konnect.authorities.logout import UpstreamLogout
from konnect.authorities.routes import AuthorityRoutes, ErrorPage, Page
from konnect.authorities.upstream import Upstream
from konnect.crypto import Sealer
from konnect.oidc.provider import Provider
from konnect.oidc.session import CookieSpec

if TYPE_CHECKING:
    from konnect.authorities.saml_flow import SamlFlow

__all__ = ["Authorities", "AuthoritySettings", "read_authorities"]


class Authorities:
    """The configured upstream providers, their routes, and what the sign-in page shows."""

    def __init__(self, provider: Provider, sealer: Sealer) -> None:
        self.settings = read_authorities(provider.clients.authority_entries)
        self.upstreams = [
            Upstream(item, provider.http, provider.clock, provider.log, provider.events)
            for item in self.settings
            if not item.saml
        ]
        self._round_trip = RoundTrip(provider, self.upstreams, sealer)
        self._oidc_sign_out = UpstreamSignOut(self._round_trip)
        self._logout = UpstreamLogout(provider, self._round_trip.upstreams)
        saml = [item for item in self.settings if item.saml]
        self._saml: SamlFlow | None = None
        if saml:  # pysaml2 is imported only when a SAML authority is configured
            from konnect.authorities.saml_flow import SamlFlow

            self._saml = SamlFlow(provider, saml, sealer, self._round_trip)

    async def sign_out(
        self, cookies: Mapping[str, str], next_url: str | None
    ) -> tuple[str | None, list[CookieSpec]]:
        """The identifier API's sign-out hook: ends upstream sessions where enabled."""
        if self._saml is not None:
            ended = await self._saml.sign_out(cookies, next_url)
            if ended is not None:
                return ended
        return await self._oidc_sign_out(cookies, next_url)

    def buttons(self) -> list[tuple[str, str]]:
        """(id, name) of each authority, for the sign-in page."""
        return [(item.id, item.name) for item in self.settings]

    def routes(self, error_page: ErrorPage, page: Page) -> list[Route]:
        if not self.settings:
            return []
        routes = AuthorityRoutes(
            self._round_trip, self._oidc_sign_out, self._logout, error_page, self._saml
        )
        if self._saml is None:
            return routes.routes(page)
        from konnect.authorities.saml_routes import SamlRoutes

        return [*routes.routes(page), *SamlRoutes(self._saml, routes, error_page).routes()]
