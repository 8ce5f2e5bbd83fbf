"""Loading Settings from defaults, a konnectd.cfg file, the environment and serve's flags.

The command line passes the process environment in as a mapping; the rest of konnect only
ever sees the resulting Settings.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from konnect.config.container import ROOT_ENV, container_root, default_files, secret_variables
from konnect.config.errors import ConfigError
from konnect.config.model import (
    ACR_LEVELS,
    BRANDING_IMAGE_TYPES,
    HEX_COLOR,
    IDENTITY_MANAGERS,
    LOG_FORMATS,
    LOG_LEVELS,
    MFA_ENROLMENTS,
    MFA_EXTERNAL_SIGN_INS,
    MFA_METHODS,
    MFA_MODES,
    SIGNING_METHODS,
    USERINFO_REVOCATION_CHECKS,
    Settings,
)

CONFIG_ENV = "KONNECTD_CONFIG"
BACKEND_ENV_PREFIXES = ("LDAP_", "KOPANO_", "COOKIE_")
COMMAND_LINE = "command line"

Kind = Literal["text", "path", "paths", "words", "int", "bool", "shell"]
_LIST_KINDS = ("paths", "words")
_TRUE = ("yes", "true", "1")
_FALSE = ("no", "false", "0")
_CFG_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)")
_DEFAULTS: dict[str, Any] = {
    item.name: item.default for item in fields(Settings) if item.default is not MISSING
}


@dataclass(frozen=True)
class Option:
    """One setting of `serve` and the names it goes by in each source."""

    field: str
    kind: Kind
    help: str
    flag: str | None = None
    env: str | None = None
    cfg: str | None = None
    metavar: str | None = None


# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("issuer", "text", "issuer identifier URL (https://, or http:// on loopback only)",
           "--iss", "OIDC_ISSUER_IDENTIFIER", "oidc_issuer_identifier", "URL"),
    Option("listen", "text", "TCP address to listen on", "--listen", "KONNECTD_LISTEN",
           "listen", "HOST:PORT"),
    Option("signing_private_keys", "paths",
           "private key file (PEM or JWK) to sign tokens with; repeatable, the first one signs",
           "--signing-private-key", "KONNECTD_SIGNING_PRIVATE_KEY", "signing_private_key", "FILE"),
    Option("signing_kid", "text", "key id for the first signing key",
           "--signing-kid", "KONNECTD_SIGNING_KID", "signing_kid", "KID"),
    Option("signing_method", "text", "JWT signing algorithm (RS*, PS*, ES*, EdDSA)",
           "--signing-method", "KONNECTD_SIGNING_METHOD", "signing_method", "ALG"),
    Option("validation_keys_path", "path",
           "folder of extra public keys (*.pem, *.json) accepted and published, for key rotation",
           "--validation-keys-path", "KONNECTD_VALIDATION_KEYS_PATH", "validation_keys_path",
           "DIR"),
    Option("encryption_secret", "path",
           "file with 32 random bytes encrypting cookies; random per start when unset",
           "--encryption-secret", "KONNECTD_ENCRYPTION_SECRET", "encryption_secret_key", "FILE"),
    Option("identifier_registration_conf", "path", "client registry YAML file",
           "--identifier-registration-conf", "KONNECTD_IDENTIFIER_REGISTRATION_CONF",
           "identifier_registration_conf", "FILE"),
    Option("identifier_scopes_conf", "path", "scopes YAML file",
           "--identifier-scopes-conf", "KONNECTD_IDENTIFIER_SCOPES_CONF",
           "identifier_scopes_conf", "FILE"),
    Option("jitsi_conf", "path", "Jitsi Meet servers YAML file: konnect issues their tokens",
           "--jitsi-conf", "KONNECTD_JITSI_CONF", "jitsi_conf", "FILE"),
    Option("uri_base_path", "text", "path prefix for /konnect/v1 and /signin/v1",
           "--uri-base-path", None, "uri_base_path", "PATH"),
    Option("sign_in_uri", "text", "sign-in page URL or path; unset: the bundled web app",
           "--sign-in-uri", None, "sign_in_uri", "URI"),
    Option("signed_out_uri", "text", "page shown after sign-out; unset: the bundled web app",
           "--signed-out-uri", None, "signed_out_uri", "URI"),
    Option("authorization_endpoint_uri", "text",
           "path (or URL, of which the path counts) redirected to the authorization endpoint",
           "--authorization-endpoint-uri", None, "authorization_endpoint_uri", "URI"),
    Option("endsession_endpoint_uri", "text",
           "path (or URL, of which the path counts) redirected to the end session endpoint",
           "--endsession-endpoint-uri", None, "endsession_endpoint_uri", "URI"),
    Option("disable_identifier_client", "bool", "do not serve the bundled sign-in web app",
           "--disable-identifier-client", None, "disable_identifier_client"),
    Option("identifier_client_path", "path",
           "folder of the sign-in web app; the cfg key may name its parent folder",
           "--identifier-client-path", "KONNECTD_IDENTIFIER_CLIENT_PATH", "web_resources_path",
           "DIR"),
    Option("trusted_proxies", "words", "IP or CIDR of a trusted reverse proxy; repeatable",
           "--trusted-proxy", None, "trusted_proxies", "IP"),
    Option("forwarded_user_sign_in", "bool",
           "sign in the user a trusted proxy names in X-Forwarded-User (single sign-on)",
           "--forwarded-user-sign-in", None, "forwarded_user_sign_in"),
    Option("outgoing_allowed_networks", "words",
           "non-public IP or CIDR network that URLs of dynamic clients may reach; repeatable",
           "--allow-outgoing-network", None, "outgoing_allowed_networks", "CIDR"),
    Option("allowed_scopes", "words", "scope to allow, replacing the default list; repeatable",
           "--allow-scope", None, "allowed_scopes", "SCOPE"),
    Option("access_token_expiration", "int", "access token lifetime in seconds (0: default)",
           "--access-token-expiration", None, "access_token_expiration", "SECONDS"),
    Option("id_token_expiration", "int", "ID token lifetime in seconds (0: default)",
           "--id-token-expiration", None, "id_token_expiration", "SECONDS"),
    Option("refresh_token_expiration", "int", "refresh token lifetime in seconds (0: default)",
           "--refresh-token-expiration", None, "refresh_token_expiration", "SECONDS"),
    Option("refresh_token_reuse_interval", "int",
           "seconds in which a just rotated refresh token still gets an answer (0: never)",
           "--refresh-token-reuse-interval", None, "refresh_token_reuse_interval", "SECONDS"),
    Option("userinfo_revocation_check", "text",
           "userinfo while the state store is unreachable: strict (503) or available (answer)",
           "--userinfo-revocation-check", None, "userinfo_revocation_check", "MODE"),
    Option("acr_aliases", "words",
           "an acr value relying parties may ask for, as NAME=LEVEL (LEVEL: "
           "https://refeds.org/profile/sfa, https://refeds.org/profile/mfa or phr); repeatable",
           "--acr-alias", None, "acr_alias", "NAME=LEVEL"),
    Option("dynamic_client_secret_expiration", "int",
           "lifetime of dynamically registered client secrets in seconds (0: never expire)",
           "--dynamic-client-secret-expiration", None, "dynamic_client_secret_expiration",
           "SECONDS"),
    Option("session_max_age", "int", "seconds a sign-in lasts at most",
           "--session-max-age", None, "session_max_age", "SECONDS"),
    Option("session_idle_timeout", "int", "seconds a sign-in lasts unused",
           "--session-idle-timeout", None, "session_idle_timeout", "SECONDS"),
    Option("sign_in_attempts_per_user", "int",
           "password attempts per user name in 5 minutes (a browser the user signed in with "
           "before has its own)",
           "--sign-in-attempts-per-user", None, "sign_in_attempts_per_user", "N"),
    Option("sign_in_attempts_per_address", "int",
           "password attempts per client address in 5 minutes",
           "--sign-in-attempts-per-address", None, "sign_in_attempts_per_address", "N"),
    Option("allow_client_guests", "bool", "let registered clients sign in guests",
           "--allow-client-guests", None, "allow_client_guests"),
    Option("guest_access_token_expiration", "int", "guest access token lifetime in seconds",
           "--guest-access-token-expiration", None, "guest_access_token_expiration", "SECONDS"),
    Option("guest_id_token_expiration", "int", "guest ID token lifetime in seconds",
           "--guest-id-token-expiration", None, "guest_id_token_expiration", "SECONDS"),
    Option("guest_request_object_require_exp_jti", "bool",
           "guest request objects must carry aud, iat, exp and jti",
           "--guest-request-object-require-exp-jti", None,
           "guest_request_object_require_exp_jti"),
    Option("allow_dynamic_client_registration", "bool", "enable dynamic client registration",
           "--allow-dynamic-client-registration", None, "allow_dynamic_client_registration"),
    Option("allow_issuer_host_clients", "bool",
           "accept unregistered clients whose redirect URI is on the issuer's host (Konnect)",
           "--allow-issuer-host-clients", None, "allow_issuer_host_clients"),
    Option("log_level", "text", "panic, fatal, error, warn, info or debug",
           "--log-level", "KONNECTD_LOG_LEVEL", "log_level", "LEVEL"),
    Option("log_format", "text", "application log lines: text or json",
           "--log-format", "KONNECTD_LOG_FORMAT", "log_format", "FORMAT"),
    Option("audit_log", "text", "where audit events go, as JSON lines: a file, stderr, syslog "
           "or syslog:SOCKET", "--audit-log", "KONNECTD_AUDIT_LOG", "audit_log",
           "FILE|stderr|syslog[:SOCKET]"),
    Option("with_metrics", "bool", "serve Prometheus metrics on the metrics address",
           "--with-metrics", "KONNECTD_WITH_METRICS", "with_metrics"),
    Option("metrics_listen", "text",
           "TCP address of the metrics listener (turns metrics on; never the public one)",
           "--metrics-listen", "KONNECTD_METRICS_LISTEN", "metrics_listen", "HOST:PORT"),
    Option("insecure", "bool", "skip TLS certificate checks on outgoing connections",
           "--insecure", None, "insecure"),
    Option("cookie_backend_timeout", "int", "seconds to wait for the cookie backend",
           "--cookie-backend-timeout", None, "cookie_backend_timeout", "SECONDS"),
    Option("state_store", "text",
           "where state lives: sqlite (a file in the data directory), sqlite:PATH, "
           "a redis:// URL (several instances), or memory (tests only)",
           "--state-store", "KONNECTD_STATE_STORE", "state_store", "STORE"),
    Option("data_dir", "path", "directory for konnect's own files (the sqlite state store)",
           "--data-dir", "KONNECTD_DATA_DIR", "data_dir", "DIR"),
    Option("workers", "int", "number of server processes (not with the memory store)",
           "--workers", "KONNECTD_WORKERS", "workers", "N"),
    Option("shutdown_timeout", "int", "seconds requests in flight may take to finish on SIGTERM",
           "--shutdown-timeout", "KONNECTD_SHUTDOWN_TIMEOUT", "shutdown_timeout", "SECONDS"),
    Option("mfa", "text", "multi-factor sign-in: off, optional or required",
           "--mfa", "KONNECTD_MFA", "mfa", "MODE"),
    Option("mfa_methods", "words",
           "second factor users may use (webauthn, totp, recovery); repeatable",
           "--mfa-method", "KONNECTD_MFA_METHODS", "mfa_methods", "METHOD"),
    Option("mfa_required_groups", "words",
           "group whose members must use a second factor; repeatable",
           "--mfa-required-group", "KONNECTD_MFA_REQUIRED_GROUPS", "mfa_required_groups",
           "GROUP"),
    Option("mfa_max_age", "int", "seconds a second factor counts before it is asked again",
           "--mfa-max-age", "KONNECTD_MFA_MAX_AGE", "mfa_max_age", "SECONDS"),
    Option("mfa_enrolment", "text",
           "who sets up a user's first factor: at_sign_in (the user) or admin_only",
           "--mfa-enrolment", "KONNECTD_MFA_ENROLMENT", "mfa_enrolment", "MODE"),
    Option("mfa_key", "path",
           "file with 32 random bytes sealing second factors; unset: derived from the "
           "encryption secret",
           "--mfa-key", "KONNECTD_MFA_KEY", "mfa_key", "FILE"),
    Option("mfa_previous_key", "path",
           "the mfa key before the current one: its factors still open until "
           "'konnectd mfa rekey' has moved them",
           "--mfa-previous-key", "KONNECTD_MFA_PREVIOUS_KEY", "mfa_previous_key", "FILE"),
    Option("mfa_satisfied_by", "words",
           "sign-in made elsewhere that counts as multi-factor: forwarded_user, cookie; "
           "repeatable",
           "--mfa-satisfied-by", "KONNECTD_MFA_SATISFIED_BY", "mfa_satisfied_by", "SOURCE"),
    Option("webauthn_rp_id", "text",
           "WebAuthn relying party id (a domain); unset: the issuer's host",
           "--webauthn-rp-id", "KONNECTD_WEBAUTHN_RP_ID", "webauthn_rp_id", "DOMAIN"),
    Option("webauthn_origins", "words",
           "exact origin the sign-in pages are served from for WebAuthn; repeatable; unset: "
           "the issuer's origin",
           "--webauthn-origin", "KONNECTD_WEBAUTHN_ORIGINS", "webauthn_origins", "ORIGIN"),
    Option("credential_store", "text",
           "where second factors live: sqlite (the state store's file), sqlite:PATH, "
           "postgresql://USER@HOST/DB (several instances) or memory (tests only); default "
           "beside the state store",
           "--credential-store", "KONNECTD_CREDENTIAL_STORE", "credential_store", "STORE"),
    Option("identity_manager", "text", "identity manager: users, ldap, cookie or dummy",
           cfg="identity_manager"),
    Option("identity_manager_args", "shell", "arguments of the identity manager",
           cfg="identity_manager_args"),
    Option("users_file", "path", "users file of the users identity manager",
           env="KONNECTD_USERS_FILE", cfg="users_file"),
    Option("branding_product_name", "text", "product name shown by the sign-in web app",
           "--branding-product-name", "KONNECTD_BRANDING_PRODUCT_NAME",
           "branding_product_name", "NAME"),
    Option("branding_logo", "text", "sign-in web app logo: an https:// URL or an image file",
           "--branding-logo", "KONNECTD_BRANDING_LOGO", "branding_logo", "URL|FILE"),
    Option("branding_accent_color", "text", "sign-in web app accent colour, #rgb or #rrggbb",
           "--branding-accent-color", "KONNECTD_BRANDING_ACCENT_COLOR",
           "branding_accent_color", "COLOR"),
    Option("branding_background", "text",
           "sign-in web app background image: an https:// URL or an image file",
           "--branding-background", "KONNECTD_BRANDING_BACKGROUND", "branding_background",
           "URL|FILE"),
)
# fmt: on

# Konnect flags konnect accepts so that existing unit files keep working, but ignores.
_IGNORED_FLAGS: tuple[tuple[str, Kind, bool], ...] = (
    ("--log-timestamp", "bool", False),
    ("--with-pprof", "bool", True),
    ("--pprof-listen", "text", True),
)


@dataclass(frozen=True)
class _Raw:
    """A value as found in one source, and where it was found (for messages)."""

    value: str | tuple[str, ...]
    where: str
    source: Literal["flag", "env", "cfg", "default"]


class _FlagParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as a ConfigError instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError([f"{COMMAND_LINE}: {message}"])


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from serve's arguments, the environment and the cfg file they name.

    Raises ConfigError listing every problem found.
    """
    argv, problems = _rewrite_bool_flags(argv)
    flags = _flag_parser().parse_intermixed_args(argv)
    warnings = _ignored_flag_warnings(flags)
    cfg, cfg_name = _read_cfg(flags.config or environ.get(CONFIG_ENV, "").strip(), problems)
    warnings += _unknown_key_warnings(cfg, cfg_name)

    values: dict[str, Any] = {}
    sources: dict[str, _Raw] = {}
    for option in OPTIONS:
        raw = _pick(option, flags, environ, cfg, cfg_name)
        if raw is None:
            continue
        sources[option.field] = raw
        try:
            values[option.field] = _refine(option.field, _convert(option.kind, raw.value))
        except ValueError as error:
            problems.append(f"{raw.where}: {error}")

    _apply_default_files(environ, values, sources, problems)
    backend_env = _backend_env(environ, cfg)
    _apply_secret_variables(environ, backend_env, problems)
    _resolve_web_resources(values, sources)
    _resolve_identity_manager(flags.positionals, values, sources, problems)
    _check_combinations(values, sources, problems, warnings)
    if "issuer" not in sources:
        problems.append(
            "issuer is required: set --iss, OIDC_ISSUER_IDENTIFIER or cfg oidc_issuer_identifier"
        )
    if problems:
        raise ConfigError(problems)
    return Settings(
        **values,
        backend_env=MappingProxyType(backend_env),
        warnings=tuple(warnings),
    )


def parse_cfg(text: str, filename: str) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """`key = value` lines of a konnectd.cfg: {key: (value, line number)} and problems.

    `#` starts a comment line; empty values mean unset; a value wholly in matching quotes
    loses them (as systemd's EnvironmentFile, which reads the same file for Konnect).
    """
    values: dict[str, tuple[str, int]] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _CFG_LINE.fullmatch(stripped)
        if match is None:
            problems.append(f"{filename}:{number}: expected key = value")
            continue
        key, value = match.group(1), _unquote(match.group(2).strip())
        if value:
            values[key] = (value, number)
        else:
            values.pop(key, None)
    return values, problems


def serve_help() -> str:
    """The help text of `konnectd serve`."""
    return _flag_parser().format_help()


# -- command line -------------------------------------------------------------------------


def _flag_parser() -> _FlagParser:
    parser = _FlagParser(
        prog="konnectd serve",
        usage="%(prog)s [flags] <identity-manager> [args...]",
        description=(
            "Run the OpenID Connect provider. Identity managers: users FILE, ldap (LDAP_* "
            "environment), cookie URL [COOKIE-NAMES], dummy. Precedence: flag > environment > "
            "cfg file > default; an empty value means unset."
        ),
        add_help=False,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"konnectd.cfg file to read (env {CONFIG_ENV})",
    )
    for option in OPTIONS:
        if option.flag is not None:
            action = _flag_action(option.kind, option.metavar)
            parser.add_argument(option.flag, dest=option.field, help=_flag_help(option), **action)
    for flag, kind, _ in _IGNORED_FLAGS:
        parser.add_argument(flag, help=argparse.SUPPRESS, **_flag_action(kind, None))
    parser.add_argument("positionals", nargs="*", metavar="identity-manager [args]")
    return parser


def _flag_action(kind: Kind, metavar: str | None) -> dict[str, Any]:
    if kind == "bool":
        return {"action": argparse.BooleanOptionalAction, "default": None}
    if kind in _LIST_KINDS:
        return {"action": "append", "default": None, "metavar": metavar}
    return {"default": None, "metavar": metavar}


def _flag_help(option: Option) -> str:
    names = [f"env {option.env}"] if option.env else []
    names += [f"cfg {option.cfg}"] if option.cfg else []
    default = _DEFAULTS.get(option.field)
    if option.field == "identifier_client_path":
        default = "bundled identifier_ui"
    if default not in (None, "", ()) and default is not False:
        names.append(f"default {default}")
    return f"{option.help} ({'; '.join(names)})" if names else option.help


def _bool_flags() -> set[str]:
    flags = {option.flag for option in OPTIONS if option.kind == "bool" and option.flag}
    return flags | {flag for flag, kind, _ in _IGNORED_FLAGS if kind == "bool"}


def _rewrite_bool_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Turn Konnect's `--flag=false` into `--no-flag` (argparse has no value for switches)."""
    bool_flags = _bool_flags()
    rewritten: list[str] = []
    problems: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            rewritten.extend(argv[index:])
            break
        flag, equals, value = arg.partition("=")
        if not equals or flag not in bool_flags:
            rewritten.append(arg)
            continue
        try:
            enabled = _parse_bool(value)
        except ValueError as error:
            problems.append(f"{flag}: {error}")
            continue
        rewritten.append(flag if enabled else "--no-" + flag[2:])
    return rewritten, problems


def _ignored_flag_warnings(flags: argparse.Namespace) -> list[str]:
    warnings = []
    for flag, _, warn in _IGNORED_FLAGS:
        value = getattr(flags, flag[2:].replace("-", "_"))
        if warn and value not in (None, False):
            warnings.append(f"{flag} is not supported by konnect and is ignored")
    return warnings


# -- cfg file -----------------------------------------------------------------------------


def _read_cfg(path: str | None, problems: list[str]) -> tuple[dict[str, tuple[str, int]], str]:
    if not path:
        return {}, ""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        problems.append(f"{path}: cannot read configuration file: {error.strerror}")
        return {}, path
    except UnicodeDecodeError:
        problems.append(f"{path}: configuration file is not UTF-8 text")
        return {}, path
    values, cfg_problems = parse_cfg(text, path)
    problems.extend(cfg_problems)
    return values, path


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] not in inner:
            return inner
    return value


def _is_backend_key(key: str) -> bool:
    """LDAP_*, KOPANO_*, COOKIE_* keys, except konnect's own options (cookie_backend_timeout)."""
    return key.upper().startswith(BACKEND_ENV_PREFIXES) and key not in _OPTION_CFG_KEYS


_OPTION_CFG_KEYS = frozenset(option.cfg for option in OPTIONS if option.cfg)


def _unknown_key_warnings(cfg: Mapping[str, tuple[str, int]], cfg_name: str) -> list[str]:
    known = {option.cfg for option in OPTIONS if option.cfg}
    warnings = []
    for key, (_, line) in cfg.items():
        if key in known or _is_backend_key(key):
            continue
        message = f"{cfg_name}:{line}: unknown key '{key}' ignored"
        if key.startswith("kc_"):
            message += " (the Kopano Groupware backend is not available in konnect)"
        warnings.append(message)
    return warnings


def _backend_env(environ: Mapping[str, str], cfg: Mapping[str, tuple[str, int]]) -> dict[str, str]:
    merged = {key.upper(): value for key, (value, _) in cfg.items() if _is_backend_key(key)}
    merged.update(
        (key, value)
        for key, value in environ.items()
        if key.startswith(BACKEND_ENV_PREFIXES) and value.strip()
    )
    return dict(sorted(merged.items()))


# -- Konnect's packaging conventions --------------------------------------------------------


def _apply_default_files(
    environ: Mapping[str, str],
    values: dict[str, Any],
    sources: dict[str, _Raw],
    problems: list[str],
) -> None:
    """Docker secrets and /etc/kopano files for options nothing else set."""
    root = container_root(environ)
    if not root.is_dir():
        problems.append(f"{ROOT_ENV}: directory not found: {root}")
        return
    unset = {option.field for option in OPTIONS} - set(sources)
    for field, path in default_files(environ, unset).items():
        values[field] = (path,) if field == "signing_private_keys" else path
        sources[field] = _Raw(str(path), str(path), "default")


def _apply_secret_variables(
    environ: Mapping[str, str], backend_env: dict[str, str], problems: list[str]
) -> None:
    """LDAP bind DN and password from Docker secrets, unless set otherwise."""
    backend_env.update(secret_variables(environ, backend_env, problems))


# -- picking and converting values --------------------------------------------------------


def _pick(
    option: Option,
    flags: argparse.Namespace,
    environ: Mapping[str, str],
    cfg: Mapping[str, tuple[str, int]],
    cfg_name: str,
) -> _Raw | None:
    """The value with the highest precedence (flag > environment > cfg), if any is set."""
    listed = option.kind in _LIST_KINDS
    if option.flag is not None:
        flagged = _flag_value(getattr(flags, option.field), listed)
        if flagged:
            return _Raw(flagged, option.flag, "flag")
    if option.env is not None and environ.get(option.env, "").strip():
        text = environ[option.env].strip()
        return _Raw(tuple(text.split()) if listed else text, option.env, "env")
    if option.cfg is not None and option.cfg in cfg:
        text, line = cfg[option.cfg]
        where = f"{cfg_name}:{line}: {option.cfg}"
        return _Raw(tuple(text.split()) if listed else text, where, "cfg")
    return None


def _flag_value(value: object, listed: bool) -> str | tuple[str, ...]:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if listed:
        assert isinstance(value, list)
        return tuple(item.strip() for item in value if item.strip())
    return str(value).strip()


def _convert(kind: Kind, value: str | tuple[str, ...]) -> object:
    if isinstance(value, tuple):
        return tuple(Path(item) for item in value) if kind == "paths" else value
    converters: dict[Kind, Callable[[str], object]] = {
        "text": str,
        "path": Path,
        "int": _parse_int,
        "bool": _parse_bool,
        "shell": lambda text: tuple(shlex.split(text)),
    }
    return converters[kind](value)


def _parse_int(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"expected a whole number >= 0, got '{text}'")
    return int(text)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected yes/no, true/false or 1/0, got '{text}'")


# -- checks of single values --------------------------------------------------------------


def _refine(field: str, value: Any) -> Any:
    """The value checked (ValueError says what is wrong) and normalised for its field."""
    refiner = _REFINERS.get(field)
    return value if refiner is None else refiner(value)


def _check_issuer(value: str) -> str:
    """An issuer must be https:// with a host; http:// only for a loopback host."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise ValueError(f"'{value}' is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"'{value}' must be an https:// URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"'{value}' must not carry user info, a query or a fragment")
    if parts.scheme == "http" and not _is_loopback_host(host):
        raise ValueError(
            f"'{value}' must use https:// (http:// is accepted only for 127.0.0.1, ::1 and "
            "localhost)"
        )
    return value


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_listen(value: str) -> str:
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got '{value}'")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"expected HOST:PORT ([::1]:PORT for IPv6), got '{value}'")
    return value


def _one_of(choices: Sequence[str], *, lower: bool = False) -> Callable[[str], str]:
    def check(value: str) -> str:
        candidate = value.lower() if lower else value
        if candidate not in choices:
            raise ValueError(f"'{value}' is not one of {', '.join(choices)}")
        return candidate

    return check


def _check_state_store(value: str) -> str:
    if value in ("memory", "sqlite") or (value.startswith("sqlite:") and value[7:].strip()):
        return value
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    valid = parts is not None and (
        (parts.scheme in ("redis", "rediss") and host is not None)
        or (parts.scheme == "unix" and parts.path not in ("", "/"))
    )
    if not valid:
        raise ValueError(
            f"expected memory, redis://, rediss:// or unix:// URL, sqlite or sqlite:PATH, "
            f"got '{value}'"
        )
    return value


def _each_one_of(choices: Sequence[str]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(dict.fromkeys(value.lower() for value in values))
        unknown = [value for value in lowered if value not in choices]
        if unknown:
            raise ValueError(f"'{', '.join(unknown)}': use {', '.join(choices)}")
        return lowered

    return check


def _no_empty_names(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value for value in values if value)


def _check_rp_id(value: str) -> str:
    """A bare domain: no scheme, port or path."""
    host = value.lower().rstrip(".")
    if host and (not host.isascii() or urlsplit("//" + host).hostname != host):
        raise ValueError(f"expected a domain such as example.com, got '{value}'")
    return host


def _check_origins(values: tuple[str, ...]) -> tuple[str, ...]:
    """Exact origins: scheme, host and port only."""
    for value in values:
        parts = urlsplit(value)
        if (
            parts.scheme not in ("https", "http")
            or not parts.hostname
            or value.endswith("/")
            or (parts.path or parts.query or parts.fragment or parts.username)
        ):
            raise ValueError(f"expected an origin such as https://example.com, got '{value}'")
    return values


def _check_credential_store(value: str) -> str:
    """`scheme` or `scheme:rest`; which schemes exist, the store registry decides at startup."""
    scheme = value.partition(":")[0]
    if not scheme.isascii() or not scheme.replace("-", "").isalnum():
        raise ValueError(
            f"expected sqlite, sqlite:PATH, postgresql://USER@HOST/DB or memory, got '{value}'"
        )
    return value


def _normalise_base_path(value: str) -> str:
    stripped = value.strip("/")
    if any(char in stripped for char in "?#") or " " in stripped:
        raise ValueError(f"'{value}' is not a URL path")
    return f"/{stripped}" if stripped else ""


def _check_page_uri(value: str) -> str:
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme in ("https", "http") and parts.netloc:
        return value
    raise ValueError(f"expected a path starting with / or an http(s):// URL, got '{value}'")


def _endpoint_path(value: str) -> str:
    """Konnect routed only the path of --authorization-endpoint-uri and the like."""
    parts = urlsplit(value)
    url = parts.scheme in ("https", "http") and bool(parts.netloc)
    path = parts.path if url else value
    if not path.startswith("/") or path.startswith("//") or any(char in path for char in "?# "):
        raise ValueError(f"expected a path starting with / or an http(s):// URL, got '{value}'")
    return path


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    return path


def _existing_files(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ValueError(f"file not found: {', '.join(missing)}")
    return paths


def _existing_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(f"directory not found: {path}")
    return path


def _network_list(values: tuple[str, ...]) -> tuple[str, ...]:
    invalid = []
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            invalid.append(value)
    if invalid:
        raise ValueError(f"not an IP address or CIDR network: {', '.join(invalid)}")
    return values


def _acr_aliases(values: tuple[str, ...]) -> tuple[str, ...]:
    """`NAME=LEVEL` words: each name once, never a level itself, pointing at a level."""
    names: set[str] = set()
    for value in values:
        name, equals, level = value.partition("=")
        if not equals or not name or level not in ACR_LEVELS:
            levels = ", ".join(ACR_LEVELS)
            raise ValueError(f"expected NAME=LEVEL with LEVEL one of {levels}, got '{value}'")
        if name in ACR_LEVELS or name in names:
            raise ValueError(f"acr alias '{name}' is a level or named twice")
        names.add(name)
    return values


def _at_least_one(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _zero_means_default(field: str) -> Callable[[int], int]:
    default = int(_DEFAULTS[field])
    return lambda value: value or default


def _lower(value: str) -> str:
    return value.lower()


def _check_product_name(value: str) -> str:
    if len(value) > 80 or not value.isprintable():
        raise ValueError("expected a printable name of at most 80 characters")
    return value


def _check_color(value: str) -> str:
    if HEX_COLOR.fullmatch(value) is None:
        raise ValueError(f"expected a colour as #rgb or #rrggbb, got '{value}'")
    return value.lower()


def _check_image_source(value: str) -> str:
    """An https:// URL, or an existing image file the server will serve itself."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc or not value.isprintable():
            raise ValueError(f"expected an https:// URL or an image file, got '{value}'")
        return value
    path = Path(value)
    if path.suffix.lower() not in BRANDING_IMAGE_TYPES:
        kinds = ", ".join(BRANDING_IMAGE_TYPES)
        raise ValueError(f"expected an image file ({kinds}) or an https:// URL, got '{value}'")
    if not path.is_file():
        raise ValueError(f"file not found: {value}")
    return value


_REFINERS: dict[str, Callable[[Any], Any]] = {
    "issuer": _check_issuer,
    "listen": _check_listen,
    "signing_private_keys": _existing_files,
    "signing_method": _one_of(SIGNING_METHODS),
    "validation_keys_path": _existing_dir,
    "encryption_secret": _existing_file,
    "identifier_registration_conf": _existing_file,
    "identifier_scopes_conf": _existing_file,
    "jitsi_conf": _existing_file,
    "uri_base_path": _normalise_base_path,
    "sign_in_uri": _check_page_uri,
    "signed_out_uri": _check_page_uri,
    "authorization_endpoint_uri": _endpoint_path,
    "endsession_endpoint_uri": _endpoint_path,
    "trusted_proxies": _network_list,
    "outgoing_allowed_networks": _network_list,
    "acr_aliases": _acr_aliases,
    "access_token_expiration": _zero_means_default("access_token_expiration"),
    "id_token_expiration": _zero_means_default("id_token_expiration"),
    "refresh_token_expiration": _zero_means_default("refresh_token_expiration"),
    "guest_access_token_expiration": _zero_means_default("guest_access_token_expiration"),
    "guest_id_token_expiration": _zero_means_default("guest_id_token_expiration"),
    "cookie_backend_timeout": _zero_means_default("cookie_backend_timeout"),
    "log_level": _one_of(LOG_LEVELS, lower=True),
    "log_format": _one_of(LOG_FORMATS, lower=True),
    "metrics_listen": _check_listen,
    "userinfo_revocation_check": _one_of(USERINFO_REVOCATION_CHECKS, lower=True),
    "state_store": _check_state_store,
    "mfa": _one_of(MFA_MODES, lower=True),
    "mfa_methods": _each_one_of(MFA_METHODS),
    "mfa_required_groups": _no_empty_names,
    "mfa_max_age": _at_least_one,
    "mfa_enrolment": _one_of(MFA_ENROLMENTS, lower=True),
    "mfa_key": _existing_file,
    "mfa_previous_key": _existing_file,
    "mfa_satisfied_by": _each_one_of(MFA_EXTERNAL_SIGN_INS),
    "credential_store": _check_credential_store,
    "webauthn_rp_id": _check_rp_id,
    "webauthn_origins": _check_origins,
    "workers": _at_least_one,
    "shutdown_timeout": _at_least_one,
    "session_max_age": _at_least_one,
    "session_idle_timeout": _at_least_one,
    "sign_in_attempts_per_user": _at_least_one,
    "sign_in_attempts_per_address": _at_least_one,
    "identity_manager": _lower,
    "branding_product_name": _check_product_name,
    "branding_logo": _check_image_source,
    "branding_accent_color": _check_color,
    "branding_background": _check_image_source,
}


# -- checks across values -----------------------------------------------------------------


def _resolve_web_resources(values: dict[str, Any], sources: Mapping[str, _Raw]) -> None:
    """Konnect's cfg names the folder holding identifier-webapp/, not the web app itself."""
    raw = sources.get("identifier_client_path")
    if raw is None or raw.source != "cfg" or "identifier_client_path" not in values:
        return
    nested = values["identifier_client_path"] / "identifier-webapp"
    if nested.is_dir():
        values["identifier_client_path"] = nested


def _resolve_identity_manager(
    positionals: Sequence[str],
    values: dict[str, Any],
    sources: Mapping[str, _Raw],
    problems: list[str],
) -> None:
    """The manager and its arguments come from the command line, else from the cfg file."""
    if positionals:
        values["identity_manager"] = positionals[0].lower()
        values["identity_manager_args"] = tuple(positionals[1:])
    manager = values.get("identity_manager", _DEFAULTS["identity_manager"])
    args: tuple[str, ...] = values.get("identity_manager_args", ())
    problems.extend(_manager_problems(manager, args))
    if manager == "users" and len(args) <= 1:
        _resolve_users_file(args, values, sources, problems)


def _manager_problems(manager: str, args: tuple[str, ...]) -> list[str]:
    choices = ", ".join(IDENTITY_MANAGERS)
    if manager == "kc":
        return [
            "identity manager 'kc': the Kopano Groupware backend is not available in "
            f"konnect; use one of {choices}"
        ]
    if manager not in IDENTITY_MANAGERS:
        return [f"identity manager '{manager}' is unknown; use one of {choices}"]
    if manager in ("ldap", "dummy") and args:
        return [f"identity manager '{manager}' takes no arguments, got: {shlex.join(args)}"]
    if manager == "users" and len(args) > 1:
        got = shlex.join(args)
        return [f"identity manager 'users' takes one argument, the users file; got: {got}"]
    if manager == "cookie":
        return _cookie_problems(args)
    return []


def _cookie_problems(args: tuple[str, ...]) -> list[str]:
    usage = "identity manager 'cookie' expects: cookie <backend-url> [\"<cookie names>\"]"
    if not args or len(args) > 2:
        return [usage]
    parts = urlsplit(args[0])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [f"{usage}; '{args[0]}' is not an http(s) URL"]
    return []


def _resolve_users_file(
    args: tuple[str, ...],
    values: dict[str, Any],
    sources: Mapping[str, _Raw],
    problems: list[str],
) -> None:
    if args:
        path, where = Path(args[0]), "users file argument"
    elif "users_file" in values:
        path, where = values["users_file"], sources["users_file"].where
    elif "users_file" in sources:
        return  # already reported
    else:
        problems.append(
            "identity manager 'users' needs a users file: 'serve ... users FILE', "
            "KONNECTD_USERS_FILE or cfg users_file"
        )
        return
    try:
        values["users_file"] = _existing_file(path)
    except ValueError as error:
        problems.append(f"{where}: {error}")


def _check_combinations(
    values: Mapping[str, Any],
    sources: Mapping[str, _Raw],
    problems: list[str],
    warnings: list[str],
) -> None:
    if values.get("identity_manager") == "dummy":
        warnings.append(
            "identity manager 'dummy' signs every browser in as the test user 'dummy'; "
            "use it only for testing"
        )
    issuer = values.get("issuer", "")
    if issuer.startswith("http://"):
        warnings.append(
            f"issuer {issuer} uses plain http://, which is acceptable only for local testing"
        )
    if values.get("forwarded_user_sign_in") and not values.get("trusted_proxies"):
        problems.append(
            f"{sources['forwarded_user_sign_in'].where}: needs the trusted proxies whose "
            "X-Forwarded-User to believe (--trusted-proxy or cfg trusted_proxies)"
        )
    if values.get("metrics_listen") and values.get("metrics_listen") == values.get("listen"):
        problems.append(
            f"{sources['metrics_listen'].where}: metrics need their own address, never the "
            "public listener"
        )
    _check_mfa(values, sources, problems)
    workers = values.get("workers", 1)
    if workers > 1 and values.get("state_store", _DEFAULTS["state_store"]) == "memory":
        problems.append(
            f"{sources['workers'].where}: {workers} workers need a shared state store "
            "(--state-store sqlite or redis://...); the memory store lives in one process"
        )


def _check_mfa(values: Mapping[str, Any], sources: Mapping[str, _Raw], problems: list[str]) -> None:
    if values.get("mfa", "off") == "off":
        return
    where = sources["mfa"].where
    methods = values.get("mfa_methods", _DEFAULTS["mfa_methods"])
    if not set(methods) - {"recovery"}:
        problems.append(
            f"{where}: needs a method besides recovery codes (--mfa-method totp); recovery "
            "codes are handed out with the first factor"
        )
    rp_id = values.get("webauthn_rp_id", "")
    host = urlsplit(values.get("issuer", "")).hostname or ""
    if rp_id and host != rp_id and not host.endswith("." + rp_id):
        problems.append(
            f"{sources['webauthn_rp_id'].where}: '{rp_id}' is neither the issuer's host "
            f"'{host}' nor a domain it belongs to; browsers would refuse every passkey"
        )
    state_store = values.get("state_store", _DEFAULTS["state_store"])
    shared = state_store == "memory" or state_store.startswith("sqlite")
    if not values.get("credential_store") and not shared:
        problems.append(
            f"{where}: with the state store {state_store.partition(':')[0]} the second "
            "factors need a database every instance reaches: set --credential-store "
            "postgresql://USER@HOST/DB"
        )
