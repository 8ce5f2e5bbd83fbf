"""Upstream authorities as identity sources: users sign in at another OpenID provider
(`authorities:` in the client registry) and get konnect's own subject, claims and tokens.

May import: config, crypto, outgoing, keys, clients, identity, state, oidc, identifier.
"""

from __future__ import annotations

from starlette.routing import Route

from konnect.authorities.config import AuthoritySettings, read_authorities
from konnect.authorities.flow import RoundTrip, UpstreamSignOut
from konnect.authorities.logout import UpstreamLogout
from konnect.authorities.routes import AuthorityRoutes, ErrorPage, Page
from konnect.authorities.upstream import Upstream
from konnect.crypto import Sealer
from konnect.oidc.provider import Provider

__all__ = ["Authorities", "AuthoritySettings", "read_authorities"]


class Authorities:
    """The configured upstream providers, their routes, and what the sign-in page shows."""

    def __init__(self, provider: Provider, sealer: Sealer) -> None:
        settings = read_authorities(provider.clients.authority_entries)
        self.upstreams = [
            Upstream(item, provider.http, provider.clock, provider.log) for item in settings
        ]
        self._round_trip = RoundTrip(provider, self.upstreams, sealer)
        #: The identifier API's sign-out hook (ends upstream sessions where enabled).
        self.sign_out = UpstreamSignOut(self._round_trip)
        self._logout = UpstreamLogout(provider, self._round_trip.upstreams)

    def buttons(self) -> list[tuple[str, str]]:
        """(id, name) of each authority, for the sign-in page."""
        return [(item.settings.id, item.settings.name) for item in self.upstreams]

    def routes(self, error_page: ErrorPage, page: Page) -> list[Route]:
        if not self.upstreams:
            return []
        routes = AuthorityRoutes(self._round_trip, self.sign_out, self._logout, error_page)
        return routes.routes(page)
