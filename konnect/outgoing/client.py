"""The HTTP client for everything konnect fetches from other servers.

Every request has a purpose that bounds it: one deadline for all of it (waiting for a free
slot, resolving, connecting, sending, reading the whole answer), how many may run at once,
and how many bytes of the answer are read. An answer is read as the raw bytes on the wire:
konnect asks for no compression and inflates nothing, so a small compressed answer cannot
grow in memory. A request made while serving a caller stops when that caller hangs up. A
URL someone else chose (dynamic registration) may reach only public addresses (`addresses`).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlencode, urlsplit

import httpcore
import httpx

from konnect.outgoing.addresses import AddressPolicy, AddressRefused, PinnedNetwork
from konnect.strict_json import parse_json

USER_AGENT = "konnect"
T = TypeVar("T")


@dataclass(frozen=True)
class Purpose:
    """What a request is for, and its bounds: `deadline` seconds for all of it, at most
    `concurrency` at once, at most `max_bytes` of answer (0: the answer's body is not read)."""

    name: str
    deadline: float
    concurrency: int
    max_bytes: int


JWKS = Purpose("jwks_uri", 5.0, 16, 64 * 1024)
REQUEST_URI = Purpose("request_uri", 5.0, 16, 64 * 1024)
SECTOR_IDENTIFIER = Purpose("sector_identifier_uri", 5.0, 4, 64 * 1024)
BACKCHANNEL_LOGOUT = Purpose("backchannel_logout_uri", 5.0, 8, 0)

#: While a request is served: returns once its caller has hung up without an answer. Set by
#: the server for each request; outgoing requests made meanwhile stop when it returns.
CALLER_GONE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "konnect_caller_gone", default=None
)

_TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
)


class FetchError(Exception):
    """A remote document could not be fetched or was not what we expected. The message is
    for the log only: callers answer with a text of their own that does not vary."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Outgoing:
    """The HTTP client; `allowed_networks` are non-public networks that public-only
    requests may reach nonetheless."""

    def __init__(
        self,
        *,
        verify: bool = True,
        allowed_networks: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verify = verify
        self._policy = AddressPolicy(allowed_networks)
        self._clock = clock
        self._pools: dict[bool, httpcore.AsyncConnectionPool] = {}
        self._slots: dict[Purpose, asyncio.Semaphore] = {}
        self._documents: DocumentCache | None = None

    @property
    def documents(self) -> DocumentCache:
        """Fetched client JWK sets, shared by every endpoint that needs them."""
        if self._documents is None:
            self._documents = DocumentCache(self, JWKS, self._clock)
        return self._documents

    async def get_json(self, url: str, purpose: Purpose, *, public_only: bool) -> Any:
        """A JSON document; FetchError otherwise."""
        body = await self.get_bytes(url, purpose, public_only=public_only)
        try:
            return parse_json(body)
        except ValueError:
            raise FetchError(f"{url} did not answer with JSON") from None

    async def get_bytes(self, url: str, purpose: Purpose, *, public_only: bool) -> bytes:
        """A 200 answer's body; FetchError otherwise."""
        answer = await self.request(purpose, "GET", url, public_only=public_only)
        if answer.status != 200:
            raise FetchError(f"{url} answered {answer.status}")
        return answer.body

    async def post_form(
        self, url: str, form: Mapping[str, str], purpose: Purpose, *, public_only: bool
    ) -> int:
        """POST a urlencoded form; the answer's status."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(form).encode()
        answer = await self.request(
            purpose, "POST", url, headers=headers, body=body, public_only=public_only
        )
        return answer.status

    async def request(
        self,
        purpose: Purpose,
        method: str,
        url: str,
        *,
        public_only: bool,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        """One exchange within the purpose's bounds; FetchError when it fails or overruns."""
        exchange = self._exchange(purpose, method, url, public_only, headers or {}, body)
        try:
            async with asyncio.timeout(purpose.deadline):
                return await _unless_caller_leaves(exchange)
        except TimeoutError:
            raise FetchError(f"{url}: no whole answer within {purpose.deadline:g} s") from None
        except AddressRefused as exc:
            raise FetchError(f"{url}: refused, {exc}, not a public address") from None
        except _TRANSPORT_ERRORS as exc:
            raise FetchError(f"{url} could not be fetched ({type(exc).__name__})") from None

    async def _exchange(
        self,
        purpose: Purpose,
        method: str,
        url: str,
        public_only: bool,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        parts = _fetchable(url)
        sent = {
            "host": parts.netloc,
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",
            **{name.lower(): value for name, value in headers.items()},
        }
        if body or method == "POST":
            sent["content-length"] = str(len(body))
        async with (
            self._slot(purpose),
            self._pool(public_only).stream(
                method, url, headers=list(sent.items()), content=body
            ) as response,
        ):
            if purpose.max_bytes == 0:
                return Answer(response.status, b"")
            return Answer(response.status, await _raw_body(url, response, purpose.max_bytes))

    def _slot(self, purpose: Purpose) -> asyncio.Semaphore:
        if purpose not in self._slots:
            self._slots[purpose] = asyncio.Semaphore(purpose.concurrency)
        return self._slots[purpose]

    def _pool(self, public_only: bool) -> httpcore.AsyncConnectionPool:
        """One pool for URLs the operator configured, one under the address policy; made on
        first use, inside the worker process that uses it."""
        if public_only not in self._pools:
            self._pools[public_only] = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(verify=self._verify),
                max_connections=128,
                max_keepalive_connections=16,
                keepalive_expiry=5.0,
                network_backend=PinnedNetwork(self._policy if public_only else None),
            )
        return self._pools[public_only]

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


def _fetchable(url: str) -> SplitResult:
    """The parts of an http(s) URL with an ASCII host (IDNs in their xn-- form) and a port."""
    try:
        parts = urlsplit(url)
        valid = (
            url.isascii()
            and parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and parts.username is None
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:
        valid = False
    if not valid:
        raise FetchError(f"{url} is not an http(s) URL konnect fetches")
    return parts


async def _raw_body(url: str, response: httpcore.Response, limit: int) -> bytes:
    """The body as sent, at most `limit` bytes; compressed bodies are refused, not inflated."""
    for name, value in response.headers:
        if name.lower() == b"content-encoding" and value.strip().lower() != b"identity":
            raise FetchError(
                f"{url} answered with content-encoding {value.decode(errors='replace')}"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_stream():
        size += len(chunk)
        if size > limit:
            raise FetchError(f"{url} answered with more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _unless_caller_leaves(work: Coroutine[Any, Any, T]) -> T:
    """Runs `work`; stops it when the caller it is done for hangs up (FetchError then)."""
    caller_gone = CALLER_GONE.get()
    if caller_gone is None:
        return await work
    working = asyncio.ensure_future(work)
    watching = asyncio.ensure_future(caller_gone())
    try:
        await asyncio.wait((working, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        if not working.done():
            working.cancel()
            await asyncio.wait((working,))  # let it close its connection
    if working.cancelled():
        raise FetchError("the caller hung up")
    return working.result()


class DocumentCache:
    """Documents by URL, fetched for one purpose.

    Failures are remembered briefly too, so a dead URL is not asked again on every request,
    and a forced refresh (a key rotated at the client) happens at most once a minute per URL.
    A document fetched under the address policy is cached apart from one fetched without it.
    """

    def __init__(
        self,
        outgoing: Outgoing,
        purpose: Purpose,
        clock: Callable[[], float] = time.monotonic,
        *,
        ttl: float = 300,
        failure_ttl: float = 30,
        min_refresh: float = 60,
        size: int = 128,
    ) -> None:
        self._outgoing = outgoing
        self._purpose = purpose
        self._clock = clock
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._min_refresh = min_refresh
        self._size = size
        # (url, public only) -> (fetched at, expires at, document, error)
        self._entries: OrderedDict[tuple[str, bool], tuple[float, float, Any, str | None]] = (
            OrderedDict()
        )

    async def get(self, url: str, *, public_only: bool, refresh: bool = False) -> Any:
        """The document at `url`, from the cache unless stale or a refresh is due."""
        now = self._clock()
        key = (url, public_only)
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            fetched_at, _, document, error = entry
            if not (refresh and now - fetched_at >= self._min_refresh):
                if error is not None:
                    raise FetchError(error)
                return document
        try:
            document = await self._outgoing.get_json(url, self._purpose, public_only=public_only)
        except FetchError as exc:
            self._remember(key, (now, now + self._failure_ttl, None, str(exc)))
            raise
        self._remember(key, (now, now + self._ttl, document, None))
        return document

    def _remember(self, key: tuple[str, bool], entry: tuple[float, float, Any, str | None]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
