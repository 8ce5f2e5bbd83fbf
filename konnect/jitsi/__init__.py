"""Jitsi Meet tokens: the servers file, room names, token minting and the issuer's endpoints.

Beside `oidc`, using its provider (keys, identity backend, sign-in cookies). May import:
konnect.config, konnect.crypto, konnect.keys, konnect.identity, konnect.state, konnect.oidc,
konnect.identifier (its cross-site request guard).
"""

from __future__ import annotations

from konnect.jitsi.routes import jitsi_routes

__all__ = ["jitsi_routes"]
