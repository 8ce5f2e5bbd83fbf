"""Outgoing HTTP: the one client through which konnect reaches other servers (client JWK
sets, request objects, sector identifiers, back-channel logout, the cookie backend).

May import: config.
"""

from konnect.outgoing.client import HTTP_ERRORS, DocumentCache, FetchError, Outgoing

__all__ = ["HTTP_ERRORS", "DocumentCache", "FetchError", "Outgoing"]
