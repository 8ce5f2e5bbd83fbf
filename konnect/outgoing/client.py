"""The HTTP client for everything konnect fetches: client JWK sets, sector identifiers,
request objects, back-channel logout.

One shared httpx client with short timeouts, no redirects and a cap on response sizes, so a
slow or hostile relying party can hold up neither a request nor the server's memory.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_DOCUMENT_BYTES = 64 * 1024
USER_AGENT = "konnect"


#: What httpx raises for a URL it cannot use or a peer it cannot talk to.
HTTP_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


class FetchError(Exception):
    """A remote document could not be fetched or was not what we expected; safe to show."""


class Outgoing:
    """The provider's HTTP client for talking to relying parties."""

    def __init__(
        self,
        *,
        verify: bool = True,
        timeout: httpx.Timeout = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verify = verify
        self._timeout = timeout
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._documents: DocumentCache | None = None

    @property
    def documents(self) -> DocumentCache:
        """Fetched documents (client JWK sets), shared by every endpoint that needs them."""
        if self._documents is None:
            self._documents = DocumentCache(self, self._clock)
        return self._documents

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                verify=self._verify,
                timeout=self._timeout,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def get_json(self, url: str) -> Any:
        """A JSON document of at most MAX_DOCUMENT_BYTES; FetchError otherwise."""
        body = await self.get_bytes(url)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError(f"{url} did not answer with JSON") from None

    async def get_bytes(self, url: str) -> bytes:
        """A 200 answer's body of at most MAX_DOCUMENT_BYTES; FetchError otherwise."""
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchError(f"{url} answered {response.status_code}")
                return await _limited_body(response)
        except HTTP_ERRORS as exc:
            raise FetchError(f"{url} could not be fetched ({type(exc).__name__})") from None

    async def post_form(self, url: str, form: Mapping[str, str]) -> int:
        """POST a urlencoded form; the response status. One of HTTP_ERRORS when unreachable."""
        response = await self.client.post(url, data=dict(form))
        await response.aclose()
        return response.status_code

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _limited_body(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise FetchError(f"{response.url} answered with a document that is too large")
        chunks.append(chunk)
    return b"".join(chunks)


class DocumentCache:
    """A small time-bounded cache of fetched documents (e.g. client JWK sets by URL).

    Failures are remembered briefly too, so a dead URL is not asked again on every request,
    and a forced refresh (a key rotated at the client) happens at most once a minute per URL.
    """

    def __init__(
        self,
        outgoing: Outgoing,
        clock: Callable[[], float] = time.monotonic,
        *,
        ttl: float = 300,
        failure_ttl: float = 30,
        min_refresh: float = 60,
        size: int = 128,
    ) -> None:
        self._outgoing = outgoing
        self._clock = clock
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._min_refresh = min_refresh
        self._size = size
        # url -> (fetched at, expires at, document, error)
        self._entries: OrderedDict[str, tuple[float, float, Any, str | None]] = OrderedDict()

    async def get(self, url: str, *, refresh: bool = False) -> Any:
        """The document at `url`, from the cache unless stale or a refresh is due."""
        now = self._clock()
        entry = self._entries.get(url)
        if entry is not None and entry[1] > now:
            fetched_at, _, document, error = entry
            if not (refresh and now - fetched_at >= self._min_refresh):
                if error is not None:
                    raise FetchError(error)
                return document
        try:
            document = await self._outgoing.get_json(url)
        except FetchError as exc:
            self._remember(url, (now, now + self._failure_ttl, None, str(exc)))
            raise
        self._remember(url, (now, now + self._ttl, document, None))
        return document

    def _remember(self, url: str, entry: tuple[float, float, Any, str | None]) -> None:
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
