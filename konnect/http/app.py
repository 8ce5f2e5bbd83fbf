"""The composition root: build every live object from Settings once and wire the routes."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from konnect.clients import ClientRegistry, load_registry
from konnect.clients.dynamic import DynamicClients
from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.crypto import Sealer, load_secret
from konnect.http.cors import Cors, cors_rules
from konnect.http.errors import http_exception, unexpected
from konnect.http.fastpath import FastPath, Prebuilt
from konnect.http.middleware import RequestLimits
from konnect.identifier import build_webapp, identifier_routes
from konnect.identifier.branding import Branding
from konnect.identity import IdentityBackend, create_backend
from konnect.keys import (
    KeySet,
    SigningKey,
    generate_signing_key,
    load_signing_keys,
    load_validation_keys,
)
from konnect.oidc.endpoints import documents, provider_routes
from konnect.oidc.outgoing import Outgoing
from konnect.oidc.provider import GuestPolicy, Provider
from konnect.oidc.scopes import build_catalog
from konnect.oidc.session import BrowserCookies
from konnect.oidc.tokens import Lifetimes, TokenIssuer
from konnect.oidc.urls import CookiePolicy, Endpoints
from konnect.state import MemoryStateStore, StateStore
from konnect.state.redis_store import RedisStateStore

log = logging.getLogger("konnect")
T = TypeVar("T")


@dataclass(frozen=True)
class Overrides:
    """Seams for tests: a clock, a backend or a store built elsewhere."""

    clock: Callable[[], float] = time.time
    backend: IdentityBackend | None = None
    store: StateStore | None = None


def build_keys(settings: Settings) -> KeySet:
    validation, warnings = (
        load_validation_keys(settings.validation_keys_path)
        if settings.validation_keys_path
        else ([], [])
    )
    for warning in warnings:
        log.warning("%s", warning)
    if settings.signing_private_keys:
        signers = load_signing_keys(settings.signing_private_keys, settings.signing_kid)
    else:
        signers = [_generated_key(settings)]
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


def build_store(settings: Settings) -> StateStore:
    if settings.state_store == "memory":
        return MemoryStateStore()
    return RedisStateStore(settings.state_store)


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


def build_provider(settings: Settings, overrides: Overrides) -> Provider:
    endpoints = Endpoints(
        settings.issuer, settings.uri_base_path, settings.sign_in_uri, settings.signed_out_uri
    )
    collected = _Problems()
    keys = collected.attempt(lambda: build_keys(settings))
    sealer = collected.attempt(lambda: build_sealer(settings))
    backend = overrides.backend or collected.attempt(lambda: create_backend(settings))
    dynamic = (
        DynamicClients(sealer, overrides.clock, settings.dynamic_client_secret_expiration)
        if sealer and settings.allow_dynamic_client_registration
        else None
    )
    clients = collected.attempt(
        lambda: load_registry(settings.identifier_registration_conf, settings.issuer, dynamic)
    )
    scopes = collected.attempt(
        lambda: build_catalog(
            settings.identifier_scopes_conf,
            backend.scopes if backend else (),
            settings.allowed_scopes,
        )
    )
    if keys and clients:
        collected.problems.extend(_unsignable_clients(keys, clients))
    # `is None`: an empty client registry (no registry file) is fine, though falsy.
    if (
        collected.problems
        or keys is None
        or sealer is None
        or backend is None
        or clients is None
        or scopes is None
    ):
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
        backend=backend,
        store=overrides.store or build_store(settings),
        tokens=TokenIssuer(keys, sealer, settings.issuer, lifetimes, overrides.clock),
        cookies=BrowserCookies(sealer, CookiePolicy(endpoints.secure), endpoints),
        clock=overrides.clock,
        log=log,
        http=Outgoing(verify=not settings.insecure, clock=overrides.clock),
        trusted_proxies=tuple(
            ipaddress.ip_network(value, strict=False) for value in settings.trusted_proxies
        ),
        guests=GuestPolicy(
            enabled=settings.allow_client_guests,
            require_exp_jti=settings.guest_request_object_require_exp_jti,
        ),
    )


def create_app(settings: Settings, overrides: Overrides | None = None) -> ASGIApp:
    for warning in settings.warnings:
        log.warning("%s", warning)
    provider = build_provider(settings, overrides or Overrides())
    webapp = build_webapp(
        provider,
        settings.identifier_client_path,
        disabled=settings.disable_identifier_client,
        branding=Branding.from_settings(settings),
    )
    routes = [
        *provider_routes(provider, webapp.error_response),
        *identifier_routes(provider),
        *webapp.routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await provider.backend.close()
        await provider.background.drain(timeout=5)
        await provider.store.close()
        await provider.http.close()
        provider.signing_pool.shutdown(wait=False)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestLimits), Middleware(Cors, rules=cors_rules(provider))],
        exception_handlers={HTTPException: http_exception, Exception: unexpected},
        lifespan=lifespan,
    )
    prebuilt = {
        path: Prebuilt(content_type, body, tuple(headers.items()))
        for path, (content_type, body, headers) in documents(provider).items()
    }
    return FastPath(app, prebuilt)
