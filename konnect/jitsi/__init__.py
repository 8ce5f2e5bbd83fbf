"""Jitsi Meet tokens: the servers file, room names, token minting and the issuer's endpoints.

Beside `oidc`, using its provider (keys, identity backend, sign-in cookies). May import:
konnect.config, konnect.crypto, konnect.keys, konnect.identity, konnect.oidc.
"""

from __future__ import annotations

from konnect.jitsi.endpoints import jitsi_routes

__all__ = ["jitsi_routes"]
