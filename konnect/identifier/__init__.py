"""The identifier: the sign-in JSON API (hello, logon, logoff, consent) and the web app serving.

May import: config, crypto, keys, clients, identity, state, oidc.
"""

from konnect.identifier.api import identifier_routes
from konnect.identifier.webapp import webapp_routes

__all__ = ["identifier_routes", "webapp_routes"]
