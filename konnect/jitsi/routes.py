"""Wiring: the Jitsi issuer's routes, built from the servers file at startup and on reload."""

from __future__ import annotations

from starlette.routing import Route

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.crypto import Sealer
from konnect.jitsi.config import ASAP_ALGORITHM, load_jitsi_servers
from konnect.jitsi.endpoints import JitsiIssuer
from konnect.jitsi.invite_endpoints import InvitationApi
from konnect.oidc.endpoints import ErrorPage
from konnect.oidc.provider import Provider


def jitsi_routes(
    settings: Settings, provider: Provider, error_page: ErrorPage, sealer: Sealer
) -> list[Route]:
    """The Jitsi issuer's routes for the servers file `settings.jitsi_conf` (none without);
    invitations are sealed with `sealer`, the cookies' one.

    Raises ConfigError for problems in the file, or ASAP without an RSA signing key.
    """
    conf = settings.jitsi_conf
    if conf is None:
        return []
    config = load_jitsi_servers(conf, provider.issuer)
    if config.asap and ASAP_ALGORITHM not in provider.keys.signing_algorithms:
        raise ConfigError(
            [
                f"{conf}: 'asap: true' needs an RSA signing key (--signing-private-key): "
                f"Jitsi verifies ASAP tokens only as {ASAP_ALGORITHM}"
            ]
        )
    for warning in config.warnings:
        provider.log.warning("%s", warning)
    issuer = JitsiIssuer(provider, config, error_page)
    return [*issuer.routes(), *InvitationApi(issuer, sealer).routes()]
