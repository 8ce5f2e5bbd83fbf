"""Settings: the frozen result of loading configuration (defaults < cfg < environment < flags)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import konnect

DEFAULT_IDENTIFIER_CLIENT_PATH = Path(konnect.__file__).resolve().parent / "identifier_ui"

IDENTITY_MANAGERS = ("users", "ldap", "cookie", "dummy")
SIGNING_METHODS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
USERINFO_REVOCATION_CHECKS = ("strict", "available")
#: Authentication context classes, weakest first: single-factor and multi-factor (REFEDS),
#: phishing-resistant (OpenID EAP ACR Values). `acr_alias` names point at these.
ACR_LEVELS = ("https://refeds.org/profile/sfa", "https://refeds.org/profile/mfa", "phr")
MFA_MODES = ("off", "optional", "required")
#: Second factors konnect can check; `recovery` codes come with the first other factor;
#: `webauthn` credentials (security keys, passkeys) also sign in without a password.
MFA_METHODS = ("webauthn", "totp", "recovery")
MFA_ENROLMENTS = ("at_sign_in", "admin_only")
#: Sign-ins made elsewhere that may count as multi-factor, only if the operator says so.
MFA_EXTERNAL_SIGN_INS = ("forwarded_user", "cookie")
LOG_LEVELS = ("panic", "fatal", "error", "warn", "info", "debug")
LOG_FORMATS = ("text", "json")
#: Konnect's metrics address, used by `--with-metrics` without `--metrics-listen`.
DEFAULT_METRICS_LISTEN = "127.0.0.1:6777"
#: Branding colours are CSS hex colours only, so they are safe to write into a stylesheet.
HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
#: Image files the sign-in web app can show as logo or background.
BRANDING_IMAGE_TYPES = MappingProxyType(
    {
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
        ".avif": "image/avif",
        ".gif": "image/gif",
    }
)


def _empty_mapping() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    """Everything `konnectd serve` was configured with, validated.

    Paths are as given (not resolved); expirations are seconds; `warnings` are non-fatal
    problems found while loading, for the server to log at startup.
    """

    issuer: str
    listen: str = "127.0.0.1:8777"
    signing_private_keys: tuple[Path, ...] = ()
    signing_kid: str | None = None
    signing_method: str = "PS256"
    validation_keys_path: Path | None = None
    encryption_secret: Path | None = None
    identifier_registration_conf: Path | None = None
    identifier_scopes_conf: Path | None = None
    jitsi_conf: Path | None = None
    uri_base_path: str = ""
    sign_in_uri: str | None = None
    signed_out_uri: str | None = None
    # Konnect's cookie and dummy managers answered at these paths; konnect redirects them.
    authorization_endpoint_uri: str | None = None
    endsession_endpoint_uri: str | None = None
    disable_identifier_client: bool = False
    identifier_client_path: Path = DEFAULT_IDENTIFIER_CLIENT_PATH
    trusted_proxies: tuple[str, ...] = ()
    forwarded_user_sign_in: bool = False
    outgoing_allowed_networks: tuple[str, ...] = ()
    allowed_scopes: tuple[str, ...] = ()
    access_token_expiration: int = 600
    id_token_expiration: int = 3600
    refresh_token_expiration: int = 94_608_000
    refresh_token_reuse_interval: int = 60
    userinfo_revocation_check: str = "strict"
    dynamic_client_secret_expiration: int = 0
    # `NAME=LEVEL` words: acr values relying parties may use for one of ACR_LEVELS.
    acr_aliases: tuple[str, ...] = ()
    session_max_age: int = 36_000
    session_idle_timeout: int = 3_600
    sign_in_attempts_per_user: int = 10
    sign_in_attempts_per_address: int = 100
    allow_client_guests: bool = False
    guest_access_token_expiration: int = 300
    guest_id_token_expiration: int = 300
    guest_request_object_require_exp_jti: bool = False
    allow_dynamic_client_registration: bool = False
    allow_issuer_host_clients: bool = False
    log_level: str = "info"
    log_format: str = "text"
    # A file, "stderr" or "syslog"; empty: no audit log.
    audit_log: str = ""
    with_metrics: bool = False
    metrics_listen: str = ""
    insecure: bool = False
    cookie_backend_timeout: int = 10
    state_store: str = "sqlite"
    data_dir: Path = Path("data")
    workers: int = 1
    shutdown_timeout: int = 10
    mfa: str = "off"
    mfa_methods: tuple[str, ...] = MFA_METHODS
    mfa_required_groups: tuple[str, ...] = ()
    mfa_max_age: int = 43_200
    mfa_enrolment: str = "at_sign_in"
    mfa_key: Path | None = None
    mfa_previous_key: Path | None = None
    mfa_satisfied_by: tuple[str, ...] = ()
    # Empty: the issuer's host and origin.
    webauthn_rp_id: str = ""
    webauthn_origins: tuple[str, ...] = ()
    # Empty: beside the state store (its sqlite file, or memory beside memory).
    credential_store: str = ""
    identity_manager: str = "users"
    identity_manager_args: tuple[str, ...] = ()
    users_file: Path | None = None
    # Branding of the sign-in web app; logo and background are an https:// URL or a file.
    branding_product_name: str = ""
    branding_logo: str = ""
    branding_accent_color: str = ""
    branding_background: str = ""
    # LDAP_*, KOPANO_* and COOKIE_* variables for the identity backends. Left out of the
    # hash so that Settings stays hashable; it still takes part in equality.
    backend_env: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    warnings: tuple[str, ...] = ()

    @property
    def metrics_address(self) -> str:
        """Where metrics are served; empty when they are off."""
        if self.metrics_listen:
            return self.metrics_listen
        return DEFAULT_METRICS_LISTEN if self.with_metrics else ""
