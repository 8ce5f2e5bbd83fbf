"""OpenID Connect steps with httpx: sign-in, code + PKCE, tokens, and the code-flow driver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import uvloop

from bench import rawhttp
from bench.fixtures import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USERNAME

VERIFIER = secrets.token_urlsafe(48)
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
BASIC_AUTH = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
LOGON_PATH = "/signin/v1/identifier/_/logon"
FORM = "application/x-www-form-urlencoded"


class FlowError(RuntimeError):
    """A setup step did not get the answer it needs."""


def api_headers(base_url: str) -> dict[str, str]:
    """Headers the sign-in web app sends to konnect's identifier API."""
    return {"Kopano-Konnect-XSRF": "1", "Origin": base_url, "Content-Type": "application/json"}


def logon_body(password: str) -> dict[str, Any]:
    return {"state": "bench", "params": [USERNAME, password, "1"], "hello": None}


def discover(base_url: str) -> dict[str, Any]:
    response = httpx.get(base_url + "/.well-known/openid-configuration", timeout=10)
    if response.status_code != 200:
        raise FlowError(f"discovery answered {response.status_code}")
    document: dict[str, Any] = response.json()
    return document


def sign_in(client: httpx.Client, base_url: str, password: str) -> None:
    """Sign in through konnect's identifier API; the logon cookie stays in client."""
    response = client.post(
        LOGON_PATH, json=logon_body(password), headers=api_headers(base_url), timeout=30
    )
    if response.status_code != 200:
        raise FlowError(f"sign-in answered {response.status_code}: {response.text[:200]}")


def authorize_params(scope: str, prompt: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": scope,
        "prompt": prompt,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }


def code_from(location: str) -> str | None:
    if not location.startswith(REDIRECT_URI):
        return None
    query = parse_qs(urlsplit(location).query)
    return query["code"][0] if "code" in query else None


def obtain_code(client: httpx.Client, authorize_url: str, params: dict[str, str]) -> str:
    """Authorize and follow the provider's own redirects (interactions) to the code."""
    url = authorize_url + "?" + urlencode(params)
    for _ in range(10):
        response = client.get(url)
        location = response.headers.get("location", "")
        if response.status_code not in (302, 303) or not location:
            raise FlowError(f"authorize answered {response.status_code}: {response.text[:200]}")
        code = code_from(location)
        if code is not None:
            return code
        if location.startswith(REDIRECT_URI):
            raise FlowError(f"authorize redirected with an error: {location}")
        url = urljoin(str(response.url), location)
    raise FlowError("authorize: too many redirects")


def code_exchange_form(code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
    }


def exchange(token_url: str, code: str) -> dict[str, Any]:
    response = httpx.post(
        token_url,
        data=code_exchange_form(code),
        headers={"Authorization": BASIC_AUTH},
        timeout=10,
    )
    if response.status_code != 200:
        raise FlowError(f"code exchange answered {response.status_code}: {response.text[:200]}")
    tokens: dict[str, Any] = response.json()
    return tokens


@dataclass
class FlowStats:
    """What the code-flow driver counted."""

    flows: int = 0
    errors: int = 0
    seconds: float = 0.0
    flow_ms: list[float] = field(default_factory=list)
    token_ms: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def cookie_header(cookies: httpx.Cookies, path: str) -> str:
    """The Cookie header a browser sends for path."""
    return "; ".join(
        f"{cookie.name}={cookie.value}"
        for cookie in cookies.jar
        if cookie.value is not None and path.startswith(cookie.path or "/")
    )


@dataclass(frozen=True)
class FlowTarget:
    base_url: str
    authorize_path: str
    token_path: str
    cookie: str


async def _one_flow(connection: rawhttp.Connection, target: FlowTarget) -> float:
    """Authorize + code exchange; returns when the exchange started (perf_counter)."""
    query = urlencode(authorize_params("openid profile email", "none"))
    response = await connection.request(
        "GET", target.authorize_path + "?" + query, {"Cookie": target.cookie}
    )
    code = code_from(response.headers.get("location", ""))
    if code is None:
        location = response.headers.get("location", response.body[:200].decode(errors="replace"))
        raise FlowError(f"authorize {response.status}: {location}")
    exchange_started = time.perf_counter()
    response = await connection.request(
        "POST",
        target.token_path,
        {"Authorization": BASIC_AUTH, "Content-Type": FORM},
        urlencode(code_exchange_form(code)).encode(),
    )
    if response.status != 200:
        raise FlowError(f"token {response.status}: {response.body[:200].decode(errors='replace')}")
    return exchange_started


async def _flow_loop(target: FlowTarget, deadline: float, stats: FlowStats) -> None:
    connection = rawhttp.Connection(target.base_url)
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                exchange_started = await _one_flow(connection, target)
            except (OSError, asyncio.IncompleteReadError, rawhttp.ProtocolError) as error:
                stats.errors += 1
                stats.first_error = stats.first_error or f"{type(error).__name__}: {error}"
                await asyncio.sleep(0.01)
                continue
            except FlowError as error:
                stats.errors += 1
                stats.first_error = stats.first_error or str(error)[:300]
                continue
            done = time.perf_counter()
            stats.flows += 1
            stats.flow_ms.append((done - started) * 1000)
            stats.token_ms.append((done - exchange_started) * 1000)
    finally:
        await connection.close()


async def _drive(target: FlowTarget, seconds: float, concurrency: int) -> FlowStats:
    stats = FlowStats()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_flow_loop(target, deadline, stats) for _ in range(concurrency)))
    stats.seconds = time.monotonic() - started
    return stats


def drive_code_flows(
    cookies: httpx.Cookies,
    authorize_url: str,
    token_url: str,
    seconds: float,
    concurrency: int = 16,
) -> FlowStats:
    """Authorize (signed-in cookie, prompt=none) + code exchange in concurrent loops.

    Each loop keeps one connection; a flow is two dependent requests on it.
    """
    authorize = urlsplit(authorize_url)
    target = FlowTarget(
        base_url=f"{authorize.scheme}://{authorize.netloc}",
        authorize_path=authorize.path,
        token_path=urlsplit(token_url).path,
        cookie=cookie_header(cookies, authorize.path),
    )
    return uvloop.run(_drive(target, seconds, concurrency))
