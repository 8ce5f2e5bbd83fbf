"""The composition root: build every live object from Settings once and wire the routes."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from konnect.authorities import Authorities, read_authorities
from konnect.clients import ClientRegistry, load_registry
from konnect.clients.dynamic import DynamicClients
from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.crypto import Sealer, load_secret
from konnect.http.cors import Cors, cors_rules
from konnect.http.errors import http_exception, unexpected
from konnect.http.fastpath import FastPath, Prebuilt
from konnect.http.konnect_paths import konnect_path_routes
from konnect.http.middleware import RequestLimits, WatchCaller
from konnect.http.reload import ReloadingApp
from konnect.identifier import ThrottleLimits, build_webapp, identifier_routes
from konnect.identifier.branding import Branding
from konnect.identity import IdentityBackend, UpstreamUsers, create_backend
from konnect.jitsi import jitsi_routes
from konnect.keys import (
    KeySet,
    SigningKey,
    generate_signing_key,
    load_signing_keys,
    load_validation_keys,
)
from konnect.observe import AuditLog, Events
from konnect.observe.metrics import Metrics
from konnect.observe.requests import ObservedRequests
from konnect.observe.store import TimedStore
from konnect.oidc.acr import MFA, PHR, SFA, AcrPolicy
from konnect.oidc.background import BackgroundTasks
from konnect.oidc.endpoints import documents, provider_routes
from konnect.oidc.grant_lifecycle import GrantPolicy
from konnect.oidc.provider import GuestPolicy, Provider
from konnect.oidc.scopes import build_catalog
from konnect.oidc.session import BrowserCookies, SessionLifetime
from konnect.oidc.tokens import Lifetimes, TokenIssuer
from konnect.oidc.urls import CookiePolicy, Endpoints
from konnect.outgoing import Outgoing
from konnect.state import MemoryStateStore, StateStore
from konnect.state.redis_store import RedisStateStore
from konnect.state.sqlite_store import SqliteStateStore
from konnect.threads import WorkerThreads

if TYPE_CHECKING:
    from konnect.mfa.factors import SecondFactors

#: The sqlite state store's file in the data directory.
STATE_FILE = "konnect.db"

log = logging.getLogger("konnect")
T = TypeVar("T")


@dataclass(frozen=True)
class Overrides:
    """Seams for tests: a clock, a backend or a store built elsewhere."""

    clock: Callable[[], float] = time.time
    backend: IdentityBackend | None = None
    store: StateStore | None = None
    events: Events | None = None


def build_signing_keys(settings: Settings) -> list[SigningKey]:
    if settings.signing_private_keys:
        return load_signing_keys(settings.signing_private_keys, settings.signing_kid)
    return [_generated_key(settings)]


def build_keys(settings: Settings, signers: Sequence[SigningKey]) -> KeySet:
    """The key set: the given signing keys and the validation keys read now."""
    validation, warnings = (
        load_validation_keys(settings.validation_keys_path)
        if settings.validation_keys_path
        else ([], [])
    )
    for warning in warnings:
        log.warning("%s", warning)
    keys = KeySet(signers, validation, settings.signing_method)
    for warning in keys.warnings:
        log.warning("%s", warning)
    return keys


def _generated_key(settings: Settings) -> SigningKey:
    log.warning(
        "NO SIGNING KEY CONFIGURED: using a random %s key that dies with this process; "
        "every token becomes invalid on restart (set --signing-private-key)",
        settings.signing_method,
    )
    return generate_signing_key(settings.signing_kid or "default", settings.signing_method)


def build_sealer(settings: Settings) -> Sealer:
    secret, generated = load_secret(settings.encryption_secret)
    if generated:
        log.warning(
            "NO ENCRYPTION SECRET CONFIGURED: using a random one; every browser session "
            "ends on restart (set --encryption-secret)"
        )
    return Sealer(secret)


def _warn_without_registry(settings: Settings) -> None:
    if settings.identifier_registration_conf is not None:
        return
    meaning = (
        "only clients that register themselves dynamically are known"
        if settings.allow_dynamic_client_registration
        else "every client is unknown, so no relying party can sign anyone in"
    )
    log.warning("NO CLIENT REGISTRY CONFIGURED: %s (set --identifier-registration-conf)", meaning)


def state_file(settings: Settings) -> Path | None:
    """The sqlite state store's file; None when the state store is not a sqlite file."""
    spec = settings.state_store
    if spec.startswith("sqlite:"):
        return Path(spec[7:])
    return settings.data_dir / STATE_FILE if spec == "sqlite" else None


def build_second_factors(
    settings: Settings, store: StateStore, clock: Callable[[], float]
) -> SecondFactors | None:
    """The MFA services when MFA is on (only then is konnect.mfa imported); else None."""
    if settings.mfa == "off":
        return None
    from konnect.mfa.setup import build_second_factors as build

    return build(settings, store, state_file(settings), clock)


def build_store(settings: Settings) -> StateStore:
    """The configured store; a sqlite file is created now, so a bad path stops startup."""
    spec = settings.state_store
    if spec == "memory":
        log.warning(
            "IN-MEMORY STATE STORE: revocations, used codes and refresh-token families are "
            "forgotten on restart (use --state-store sqlite, the default)"
        )
        return MemoryStateStore()
    path = state_file(settings)
    if path is not None:
        store = SqliteStateStore(path)
        try:
            store.check()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                [f"state_store: cannot open {path} (set --data-dir or --state-store): {exc}"]
            ) from None
        return store
    return RedisStateStore(spec)


class _Problems:
    """Collects configuration problems of independent parts, so all are reported at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attempt(self, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except ConfigError as error:
            self.problems.extend(error.problems)
            return None


def _upstream_users(clients: ClientRegistry | None, collected: _Problems) -> UpstreamUsers:
    """The authorities that admit users who exist only there."""
    entries = clients.authority_entries if clients is not None else ()
    authorities = collected.attempt(lambda: read_authorities(entries)) or []
    return UpstreamUsers(item.id for item in authorities if item.allow_upstream_only_users)


def _unsignable_clients(keys: KeySet, clients: ClientRegistry) -> list[str]:
    """Clients asking for token algorithms no loaded signing key can produce."""
    return [
        f"client '{client.id}': {name} {alg} needs a signing key of that type"
        for client in clients
        for name, alg in (
            ("id_token_signed_response_alg", client.id_token_signed_response_alg),
            ("userinfo_signed_response_alg", client.userinfo_signed_response_alg),
        )
        if alg and alg not in keys.signing_algorithms
    ]


@dataclass(frozen=True)
class Kept:
    """What a reload keeps: the signing keys and the secret that issued tokens and browser
    sessions depend on, the state, the identity backend and the open connections."""

    signing_keys: Sequence[SigningKey]
    sealer: Sealer
    store: StateStore
    backend: IdentityBackend
    http: Outgoing
    events: Events
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    signing_pool: WorkerThreads = field(default_factory=lambda: WorkerThreads("konnect-sign"))
    second_factors: SecondFactors | None = None


def build_kept(settings: Settings, overrides: Overrides, collected: _Problems) -> Kept | None:
    """The parts built once per process; None when one of them failed (problems collected)."""
    signers = collected.attempt(lambda: build_signing_keys(settings))
    store = overrides.store or collected.attempt(lambda: build_store(settings))
    sealer = collected.attempt(lambda: build_sealer(settings))
    backend = overrides.backend or collected.attempt(lambda: create_backend(settings))
    events = overrides.events or collected.attempt(lambda: build_events(settings))
    second_factors = (
        collected.attempt(lambda: build_second_factors(settings, store, overrides.clock))
        if store is not None
        else None
    )
    if signers is None or store is None or sealer is None or backend is None or events is None:
        return None
    if settings.mfa != "off" and second_factors is None:
        return None
    http = Outgoing(
        verify=not settings.insecure,
        allowed_networks=settings.outgoing_allowed_networks,
        clock=overrides.clock,
    )
    return Kept(signers, sealer, store, backend, http, events, second_factors=second_factors)


def build_provider(
    settings: Settings, overrides: Overrides, kept: Kept | None, collected: _Problems
) -> Provider:
    """The provider around `kept` with the client registry, scopes and validation keys read
    now; raises ConfigError with every problem collected so far."""
    endpoints = Endpoints(
        settings.issuer, settings.uri_base_path, settings.sign_in_uri, settings.signed_out_uri
    )
    keys = kept and collected.attempt(lambda: build_keys(settings, kept.signing_keys))
    dynamic = (
        DynamicClients(kept.sealer, overrides.clock, settings.dynamic_client_secret_expiration)
        if kept and settings.allow_dynamic_client_registration
        else None
    )
    clients = collected.attempt(
        lambda: load_registry(
            settings.identifier_registration_conf,
            settings.issuer,
            dynamic,
            base_path=settings.uri_base_path,
            issuer_host_clients=settings.allow_issuer_host_clients,
        )
    )
    scopes = collected.attempt(
        lambda: build_catalog(
            settings.identifier_scopes_conf,
            kept.backend.scopes if kept else (),
            settings.allowed_scopes,
        )
    )
    upstream_users = _upstream_users(clients, collected)
    if keys and clients:
        collected.problems.extend(_unsignable_clients(keys, clients))
    for warning in clients.warnings if clients is not None else ():
        log.warning("%s", warning)
    _warn_without_registry(settings)
    # `is None`: an empty client registry (no registry file) is fine, though falsy.
    if collected.problems or not kept or not keys or clients is None or scopes is None:
        raise ConfigError(collected.problems)
    lifetimes = Lifetimes(
        access_token=settings.access_token_expiration,
        id_token=settings.id_token_expiration,
        refresh_token=settings.refresh_token_expiration,
        guest_access_token=settings.guest_access_token_expiration,
        guest_id_token=settings.guest_id_token_expiration,
    )
    return Provider(
        endpoints=endpoints,
        keys=keys,
        clients=clients,
        scopes=scopes,
        backend=kept.backend,
        store=TimedStore(kept.store, metrics) if (metrics := kept.events.metrics) else kept.store,
        tokens=TokenIssuer(keys, kept.sealer, settings.issuer, lifetimes, overrides.clock),
        cookies=BrowserCookies(
            kept.sealer,
            CookiePolicy(endpoints.secure),
            endpoints,
            SessionLifetime(settings.session_max_age, settings.session_idle_timeout),
        ),
        clock=overrides.clock,
        log=log,
        http=kept.http,
        background=kept.background,
        signing_pool=kept.signing_pool,
        trusted_proxies=tuple(
            ipaddress.ip_network(value, strict=False) for value in settings.trusted_proxies
        ),
        forwarded_user_sign_in=settings.forwarded_user_sign_in,
        grant_policy=GrantPolicy(
            refresh_reuse_interval=settings.refresh_token_reuse_interval,
            userinfo_available_without_store=settings.userinfo_revocation_check == "available",
        ),
        guests=GuestPolicy(
            enabled=settings.allow_client_guests,
            require_exp_jti=settings.guest_request_object_require_exp_jti,
        ),
        events=kept.events,
        upstream_users=upstream_users,
        acr=AcrPolicy.from_words(settings.acr_aliases, reachable=_reachable(kept.second_factors)),
        second_factors=kept.second_factors,
    )


def _reachable(factors: SecondFactors | None) -> str:
    """The strongest acr a sign-in here can reach: a second factor gives multi-factor, a
    security key or passkey phishing-resistant."""
    if factors is None:
        return SFA
    return MFA if factors.passkeys is None else PHR


def build_events(settings: Settings) -> Events:
    """Metrics when a metrics address is set, the audit log when its destination is."""
    try:
        audit = AuditLog.open(settings.audit_log) if settings.audit_log else None
    except OSError as exc:
        raise ConfigError([f"audit_log: cannot open {settings.audit_log}: {exc}"]) from None
    return Events(Metrics() if settings.metrics_address else None, audit)


def _log_files_in_use(settings: Settings) -> None:
    """Which files this start reads, wherever they were configured (cfg, secret, /etc/kopano)."""
    files = {
        "signing key": settings.signing_private_keys,
        "validation keys": (settings.validation_keys_path,),
        "encryption secret": (settings.encryption_secret,),
        "client registry": (settings.identifier_registration_conf,),
        "scopes": (settings.identifier_scopes_conf,),
        "users file": (settings.users_file,),
        "LDAP bind password": (settings.backend_env.get("LDAP_BINDPW_FILE"),),
    }
    for what, paths in files.items():
        for path in paths:
            if path is not None:
                log.info("%s: %s", what, path)


def create_app(settings: Settings, overrides: Overrides | None = None) -> ReloadingApp:
    """The app for `settings`; its `reload()` reads the registry, scopes, validation keys and
    Jitsi servers again and swaps them in whole, keeping what `Kept` holds."""
    for warning in settings.warnings:
        log.warning("%s", warning)
    _log_files_in_use(settings)
    chosen = overrides or Overrides()
    collected = _Problems()
    kept = build_kept(settings, chosen, collected)
    first = _assemble(settings, chosen, kept, collected)

    def rebuild() -> ASGIApp:
        return _assemble(settings, chosen, kept, _Problems())

    assert kept is not None  # _assemble raised otherwise
    return ReloadingApp(first, rebuild, kept.events.config_reloaded)


def _assemble(
    settings: Settings, overrides: Overrides, kept: Kept | None, collected: _Problems
) -> ASGIApp:
    provider = build_provider(settings, overrides, kept, collected)
    assert kept is not None  # build_provider raised otherwise
    authorities = Authorities(provider, kept.sealer)
    webapp = build_webapp(
        provider,
        settings.identifier_client_path,
        disabled=settings.disable_identifier_client,
        branding=Branding.from_settings(settings),
        authorities=authorities.buttons(),
    )
    routes = [
        *provider_routes(provider, webapp.error_response),
        *identifier_routes(
            provider,
            ThrottleLimits(
                settings.sign_in_attempts_per_user, settings.sign_in_attempts_per_address
            ),
            authorities.sign_out,
        ),
        *authorities.routes(webapp.error_response, webapp.page),
        *webapp.routes(),
        *konnect_path_routes(settings, provider.endpoints),
        *jitsi_routes(settings, provider, webapp.error_response, kept.sealer),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for problem in await provider.store.problems():
            log.warning("STATE STORE NOT DURABLE: %s", problem)
        yield
        await provider.backend.close()
        await provider.background.drain(timeout=5)
        await provider.store.close()
        if provider.second_factors is not None:
            await provider.second_factors.credentials.close()
        await provider.http.close()
        provider.signing_pool.shutdown(wait=False)
        provider.events.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLimits),
            Middleware(WatchCaller),
            Middleware(Cors, rules=cors_rules(provider)),
        ],
        exception_handlers={HTTPException: http_exception, Exception: unexpected},
        lifespan=lifespan,
    )
    prebuilt = {
        path: Prebuilt(content_type, body, tuple(headers.items()))
        for path, (content_type, body, headers) in documents(provider).items()
    }
    fast = FastPath(app, prebuilt)
    return ObservedRequests(fast, provider.events, provider.is_trusted_proxy, prebuilt)
