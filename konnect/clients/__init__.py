"""Registered clients: the registration model, the metadata reader (for the YAML registry
and dynamic registration alike), redirect URI rules, the YAML registry and dynamically
registered clients (sealed into their client ids).

May import: config, crypto.
"""

from konnect.clients.model import ClientLookupError, ClientRegistration
from konnect.clients.redirects import redirect_uri_matches
from konnect.clients.registry import ClientRegistry, load_registry

__all__ = [
    "ClientLookupError",
    "ClientRegistration",
    "ClientRegistry",
    "load_registry",
    "redirect_uri_matches",
]
