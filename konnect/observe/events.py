"""The narrow interface every layer reports to, once per event: `provider.events.sign_in(...)`.

Each call goes to the Prometheus metrics and to the audit log, whichever are configured; the
default `Events()` has neither and does nothing, so tests and tools need no setup. Callers
pass names, identifiers and outcomes only, never a password, token, code or secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    nullcontext,
)
from typing import Any

from konnect.observe.audit import AuditLog
from konnect.observe.metrics import Counter, Histogram, Metrics

#: Sign-in outcomes, the values of the sign-ins metric's `outcome` label.
SUCCESS, WRONG_CREDENTIALS, THROTTLED, BACKEND_UNAVAILABLE, ERROR = (
    "success",
    "wrong_credentials",
    "throttled",
    "backend_unavailable",
    "error",
)
#: Methods counted by name; any other a client sends is counted as `other`.
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
#: The `client` label of clients the operator did not register (dynamic ones, those known by
#: their redirect URI): anyone may create them, and a label value each would grow the metrics
#: without bound.
UNREGISTERED_CLIENT = "(unregistered)"
_NOTHING: nullcontext[None] = nullcontext()


def backend_label(backend: object) -> str:
    """An identity backend's name in metrics and audit events: `ldap`, `cookie`, ..."""
    return type(backend).__name__.removesuffix("Backend").lower()


class _Timed:
    """Observes the seconds its `with` or `async with` block took, and counts an error when
    the block raises `failure` (cheaper than a generator context: this is on every token's
    path)."""

    __slots__ = ("_errors", "_failure", "_labels", "_seconds", "_started")

    def __init__(
        self,
        seconds: Histogram,
        labels: tuple[str, ...],
        errors: Counter | None = None,
        failure: type[Exception] = Exception,
    ) -> None:
        self._seconds = seconds
        self._labels = labels
        self._errors = errors
        self._failure = failure
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if kind is not None and self._errors is not None and issubclass(kind, self._failure):
            self._errors.inc(*self._labels)
        self._seconds.observe(time.perf_counter() - self._started, *self._labels)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        self.__exit__(kind)


class Events:
    """Fans events out to the metrics and the audit log; without either it does nothing."""

    def __init__(self, metrics: Metrics | None = None, audit: AuditLog | None = None) -> None:
        self.metrics = metrics
        self.audit = audit

    def close(self) -> None:
        """Closes the audit log's file, when it writes to one."""
        if self.audit is not None:
            self.audit.close()

    def _audit(self, name: str, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.event(name, **fields)

    # -- requests and dependencies (metrics only) -------------------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        if self.metrics is None:
            return
        if method not in HTTP_METHODS:
            method = "other"
        self.metrics.answers.observe(seconds, route, method, status)

    def backend_call(
        self, backend: str, operation: str, failure: type[Exception] = Exception
    ) -> AbstractAsyncContextManager[None]:
        """Times a call to an identity backend; a `failure` raised counts as an error."""
        if self.metrics is None:
            return _NOTHING
        metrics = self.metrics
        return _Timed(
            metrics.backend_seconds, (backend, operation), metrics.backend_errors, failure
        )

    def authority_call(
        self, authority: str, operation: str, failure: type[Exception] = Exception
    ) -> AbstractAsyncContextManager[None]:
        """Times a call to an upstream authority (discovery, keys, token, SAML metadata)."""
        if self.metrics is None:
            return _NOTHING
        metrics = self.metrics
        return _Timed(
            metrics.authority_seconds, (authority, operation), metrics.authority_errors, failure
        )

    def signing(self, alg: str) -> AbstractContextManager[None]:
        """Times a signature; without metrics a shared context that does nothing (this runs
        on the signing threads for every token)."""
        if self.metrics is None:
            return _NOTHING
        return _Timed(self.metrics.signing_seconds, (alg,))

    # -- sign-in ------------------------------------------------------------------------------
    def sign_in(self, outcome: str, backend: str, username: str, method: str = "password") -> None:
        if self.metrics is not None:
            self.metrics.sign_ins.inc(backend, outcome)
        event = "sign_in" if outcome == SUCCESS else "sign_in_failed"
        reason = None if outcome == SUCCESS else outcome
        self._audit(event, user=username, backend=backend, method=method, reason=reason)

    def second_factor(self, outcome: str, backend: str, username: str, method: str) -> None:
        """A second factor answered (or set up, method `enrol`); outcome as Verdict values."""
        event = "second_factor" if outcome == "accepted" else "second_factor_failed"
        reason = None if outcome == "accepted" else outcome
        self._audit(event, user=username, backend=backend, method=method, reason=reason)

    def own_factor(
        self, action: str, backend: str, username: str, kind: str, reason: str | None = None
    ) -> None:
        """A user's change to their own factors on the security page (`added`, `renamed`,
        `removed`, `codes_renewed`), or the change refused (`refused`, with the reason)."""
        self._audit("factor_" + action, user=username, backend=backend, kind=kind, reason=reason)

    def mfa_admin(self, action: str, backend: str, subject: str, **details: Any) -> None:
        """An administrator's `konnectd mfa` action on an account."""
        self._audit("mfa_" + action, backend=backend, subject=subject, **details)

    def sign_out(self, user: str | None) -> None:
        self._audit("sign_out", user=user)

    def consent(self, allowed: bool, client: str, scopes: Iterable[str], user: str | None) -> None:
        name = "consent_given" if allowed else "consent_denied"
        self._audit(name, client_id=client, scopes=sorted(scopes), user=user)

    # -- tokens -------------------------------------------------------------------------------
    def token_issued(
        self,
        grant: str,
        client: str,
        unregistered: bool,
        alg: str,
        scopes: str,
        user: str | None,
    ) -> None:
        if self.metrics is not None:
            label = UNREGISTERED_CLIENT if unregistered else client
            self.metrics.tokens.inc(grant, label, alg)
        self._audit(
            "token_issued",
            grant_type=grant,
            client_id=client,
            scopes=scopes.split(),
            user=user,
            alg=alg,
        )

    def token_reuse(self, kind: str, client: str, user: str | None) -> None:
        """A used code or rotated refresh token came back: its whole grant is revoked."""
        if self.metrics is not None:
            self.metrics.token_reuse.inc(kind)
        self._audit("token_reuse", kind=kind, client_id=client, user=user)
        self._audit("grant_revoked", reason=f"{kind} reused", client_id=client, user=user)

    def revocation(self, client: str, outcome: str) -> None:
        self._audit("token_revocation", client_id=client, outcome=outcome)

    def introspection(self, client: str, active: bool) -> None:
        self._audit("token_introspection", client_id=client, active=active)

    def client_registered(self, client: str, redirect_uris: Iterable[str]) -> None:
        self._audit("client_registered", client_id=client, redirect_uris=list(redirect_uris))

    # -- guests and Jitsi ---------------------------------------------------------------------
    def guest_admitted(self, client: str, user: str | None, unregistered: bool = False) -> None:
        if self.metrics is not None:
            self.metrics.guests.inc(UNREGISTERED_CLIENT if unregistered else client)
        self._audit("guest_admitted", client_id=client, user=user)

    def jitsi_token(
        self, kind: str, server: str, room: str, user: str | None, invitation: str | None = None
    ) -> None:
        """kind: `user` (a signed-in user) or `guest` (admitted through an invitation)."""
        if self.metrics is not None:
            self.metrics.jitsi_tokens.inc(kind)
        self._audit(
            "jitsi_token", kind=kind, server=server, room=room, user=user, invitation=invitation
        )

    def invitation(self, action: str, server: str, room: str, user: str, invitation: str) -> None:
        """action: `created` or `revoked`."""
        self._audit(
            f"invitation_{action}", server=server, room=room, user=user, invitation=invitation
        )

    # -- operations ---------------------------------------------------------------------------
    def config_reloaded(self, outcome: str, detail: str = "") -> None:
        self._audit("config_reloaded", outcome=outcome, detail=detail or None)
