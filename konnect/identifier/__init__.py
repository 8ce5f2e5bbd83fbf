"""The identifier: the sign-in JSON API (hello, logon, logoff, consent) and the web app serving.

May import: config, crypto, keys, clients, identity, state, oidc.
"""

from konnect.identifier.api import identifier_routes
from konnect.identifier.throttle import ThrottleLimits
from konnect.identifier.webapp import WebApp, build_webapp

__all__ = ["ThrottleLimits", "WebApp", "build_webapp", "identifier_routes"]
