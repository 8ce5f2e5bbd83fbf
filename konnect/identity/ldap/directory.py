"""Blocking directory operations over pooled ldap3 connections, with TLS and failover.

Everything here runs in worker threads (the async backend hands calls over); each call takes
a connection from a pool for its exclusive use and gives it back, so connections are reused
instead of reconnecting per sign-in.
"""

from __future__ import annotations

import math
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from konnect.identity.ldap import wire
from konnect.identity.ldap.entries import Entry
from konnect.identity.ldap.settings import LdapSettings, ServerAddress

with warnings.catch_warnings():
    # ldap3 2.9 imports pyasn1 names that pyasn1 0.6 deprecates; nothing for us to act on.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException

T = TypeVar("T")

SUCCESS, SIZE_LIMIT_EXCEEDED, NO_SUCH_OBJECT, INVALID_CREDENTIALS = 0, 4, 32, 49
#: Search results meaning "there is no such entry" rather than a failure.
NOT_FOUND = {NO_SUCH_OBJECT, 34}  # 34: invalidDNSyntax
#: Bind results that mean "these credentials do not sign in", never "the directory is broken":
#: invalidCredentials, inappropriateAuthentication, insufficientAccessRights, unwillingToPerform.
REFUSED_BINDS = {INVALID_CREDENTIALS, 48, 50, 53}


class DirectoryDown(Exception):
    """The directory cannot be reached or answered with an error; the message says why."""


class AmbiguousEntry(Exception):
    """More than one entry matched where exactly one must."""


def tls_context(settings: LdapSettings) -> ssl.SSLContext:
    """Certificate and host name checks against the CA file (or the system CAs)."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _ContextTls(ldap3.Tls):  # type: ignore[misc]
    """ldap3's TLS with a prepared SSLContext that checks the host name during the handshake."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(validate=ssl.CERT_NONE)  # ldap3's own checks off: the context does them
        self._context = context

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_hostname=connection.server.host,
            do_handshake_on_connect=do_handshake,
        )


class ConnectionPool:
    """Idle connections of one kind (service-bound, or for user binds), opened on demand."""

    def __init__(self, directory: Directory, *, service: bool) -> None:
        self._directory = directory
        self._service = service
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self, *, fresh: bool = False) -> Iterator[Any]:
        conn = None if fresh else self._take()
        if conn is None:
            conn = self._directory.open(service=self._service)
        try:
            yield conn
        except BaseException:
            _close(conn)
            raise
        with self._lock:
            self._idle.append(conn)

    def _take(self) -> Any:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def has_idle(self) -> bool:
        return bool(self._idle)

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn: Any) -> None:
    with suppress(LDAPException, OSError):
        conn.unbind()
    with suppress(OSError):  # after a failed open or TLS handshake unbind may leave it open
        if conn.socket is not None:
            conn.socket.close()


class Directory:
    """The configured directory servers and the pools of connections to them."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self._tls = _ContextTls(tls_context(settings)) if settings.uses_tls else None
        self._preferred = 0
        self.searches = ConnectionPool(self, service=True)
        self.binds = ConnectionPool(self, service=False)

    def open(self, *, service: bool) -> Any:
        """A connection to the first server that answers, the last good one tried first."""
        servers = self.settings.servers
        order = [*range(self._preferred, len(servers)), *range(self._preferred)]
        reasons = []
        for index in order:
            try:
                conn = self._connect(servers[index], service=service)
            except (LDAPException, OSError) as exc:
                reasons.append(f"{servers[index].uri}: {_reason(exc)}")
                continue
            self._preferred = index
            return conn
        raise DirectoryDown("; ".join(reasons))

    def _connect(self, address: ServerAddress, *, service: bool) -> Any:
        settings = self.settings
        # A new Server each time: ldap3 remembers failed addresses for minutes otherwise.
        server = ldap3.Server(
            address.host,
            port=address.port,
            use_ssl=address.ldaps,
            tls=self._tls,
            get_info=ldap3.NONE,
            connect_timeout=settings.connect_timeout,
        )
        conn = ldap3.Connection(
            server,
            user=settings.bind_dn if service and settings.bind_dn else None,
            password=settings.bind_password.encode() if service and settings.bind_dn else None,
            receive_timeout=max(1, math.ceil(settings.timeout)),  # ldap3 needs whole seconds
            read_only=True,
            auto_referrals=False,
            return_empty_attributes=False,
            raise_exceptions=False,
        )
        try:
            conn.open()
            if settings.start_tls:
                conn.start_tls()
            if service and settings.bind_dn and not conn.bind():
                raise DirectoryDown(f"service bind failed: {conn.result.get('description')}")
        except BaseException:
            _close(conn)
            raise
        return conn

    def with_connection(self, pool: ConnectionPool, operation: Callable[[Any], T]) -> T:
        """Run an operation; a broken idle connection (server restarted) gets one fresh retry.

        Whatever goes wrong talking to the server (sockets, TLS, an answer ldap3 cannot decode)
        is DirectoryDown, so the person signing in gets "temporarily unavailable", never a 500.
        """
        reused = pool.has_idle()
        try:
            with pool.connection() as conn:
                return operation(conn)
        except DirectoryDown:
            raise
        except Exception as exc:
            if not reused:
                raise DirectoryDown(_reason(exc)) from None
            self.searches.clear()
            self.binds.clear()
        try:
            with pool.connection(fresh=True) as conn:
                return operation(conn)
        except DirectoryDown:
            raise
        except Exception as exc:
            raise DirectoryDown(_reason(exc)) from None

    # -- operations (each runs in a worker thread) ----------------------------------------

    def search(
        self, base: str, scope: str, filter_ber: bytes, attributes: list[str], *, limit: int = 2
    ) -> list[Entry]:
        """Entries for a search (at most limit, 0: all); an absent or malformed base means
        none, any other failure DirectoryDown."""
        time_limit = max(1, int(self.settings.timeout))
        request = wire.search_request(base, scope, filter_ber, attributes, limit, time_limit)

        def run(conn: Any) -> list[Entry]:
            result, responses = wire.search(conn, request, attributes)
            code = result.get("result")
            if code in NOT_FOUND:
                return []
            if code not in (SUCCESS, SIZE_LIMIT_EXCEEDED):
                raise DirectoryDown(f"search failed: {result.get('description')}")
            return [
                Entry.from_raw(item["dn"], item.get("raw_attributes", {}))
                for item in responses
                if item.get("type") == "searchResEntry"
            ]

        return self.with_connection(self.searches, run)

    def check_password(self, dn: str, password: str) -> bool:
        """Bind as the user; False for refused credentials, DirectoryDown for anything else."""
        if not password:  # an empty password would be an unauthenticated (anonymous) bind
            return False
        # Raw UTF-8 bytes, as Konnect sent them (no SASLprep, which would also refuse control
        # characters with an exception: those are a failed sign-in, not an outage).
        secret = password.encode("utf-8", errors="surrogatepass")

        def run(conn: Any) -> bool:
            result = wire.bind(conn, dn, secret)
            code = result.get("result")
            if code == SUCCESS:
                return True
            if code in REFUSED_BINDS:
                return False
            raise DirectoryDown(f"user bind failed: {result.get('description')}")

        return self.with_connection(self.binds, run)

    def close(self) -> None:
        self.searches.clear()
        self.binds.clear()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    name = exc.__class__.__name__
    return f"{name}: {text}" if text else name
