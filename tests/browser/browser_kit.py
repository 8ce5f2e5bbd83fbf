"""Helpers for the sign-in web app's browser tests: a watched Playwright page and flow steps."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Route, expect

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CATALOGUES = ROOT / "konnect" / "identifier_ui" / "static" / "i18n"
LANGUAGES = sorted(path.stem for path in CATALOGUES.glob("*.json"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AUTHORIZE = "/signin/v1/identifier/_/authorize"
#: Host names of the test servers: `localhost` for WebAuthn (browsers refuse an IP as RP ID).
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
TRUSTED = {"client_id": "trusted-app", "redirect_uri": "http://127.0.0.1:9999/cb"}
UNTRUSTED = {"client_id": "untrusted-app", "redirect_uri": "https://rp.example.com/cb"}
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 320, "height": 640}
CLIENT_PAGE = "<!doctype html><title>client</title><p>client</p>"
_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class Watch:
    """Everything one browser context did: requests, console errors, intercepted clients.

    Requests to the server go through; requests to a registered client URL are answered
    in the browser (they never leave it); anything else is refused and counted as a leak.
    """

    base: str
    requests: list[Request] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    clients: dict[str, bytes] = field(default_factory=dict)
    client_hits: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.route("**/*", self._route)

    def _request(self, request: Request) -> None:
        self.requests.append(request)

    def watch_page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))

    def intercept(self, prefix: str, body: bytes = CLIENT_PAGE.encode()) -> None:
        """Answer requests starting with `prefix` (a client's URL) inside the browser."""
        self.clients[prefix] = body

    def expect_status(self, *statuses: int) -> None:
        """API answers with these statuses are part of the test, not console noise."""
        self.expected_statuses.update(statuses)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.base + AUTHORIZE):
            self._authorize(route)
            return
        if url.startswith(self.base + "/"):
            route.continue_()
            return
        if url.startswith(tuple(self.clients)):
            self.client_hits.append(url)
            kind = "image/svg+xml" if url.endswith(".svg") else "text/html"
            route.fulfill(
                status=200, body=self.clients[_prefix(url, self.clients)], content_type=kind
            )
            return
        self.leaks.append(url)
        route.abort()

    def _authorize(self, route: Route) -> None:
        """Browsers do not let a test intercept a redirect's target, so the authorization
        endpoint's redirect to a client is caught here and answered with the client's page."""
        response = route.fetch(max_redirects=0)
        location = response.headers.get("location", "")
        if not location.startswith(tuple(self.clients)):
            route.fulfill(response=response)
            return
        self.client_hits.append(location)
        route.fulfill(status=200, body=self.clients[_prefix(location, self.clients)])

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = _FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        self.console_errors.append(message.text)

    def off_host(self) -> list[str]:
        """Requests that were meant to leave the loopback host and were not intercepted."""
        return [
            request.url
            for request in self.requests
            if urlsplit(request.url).hostname not in LOOPBACK_NAMES
            and not request.url.startswith(tuple(self.clients))
            and not request.url.startswith("data:")
        ]


def _prefix(url: str, prefixes: Iterable[str]) -> str:
    return next(prefix for prefix in prefixes if url.startswith(prefix))


def catalogue(language: str) -> dict[str, str]:
    """The web app's messages in one language, as its catalogue file has them."""
    return dict(json.loads((CATALOGUES / f"{language}.json").read_text(encoding="utf-8")))


def authorize_url(base: str, client: dict[str, str], **extra: str) -> str:
    params = {
        "response_type": "code",
        "scope": "openid profile",
        "state": "rp-state",
        "nonce": "rp-nonce",
        **client,
        **extra,
    }
    return base + AUTHORIZE + "?" + urlencode(params)


def client_result(page: Page, watch: Watch) -> dict[str, str]:
    """The query a relying party received, once the browser was sent to it."""
    expect(page).to_have_title("client")
    return query_of(watch.client_hits[-1])


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in(page: Page, username: str = "jonas", password: str = PASSWORD) -> None:
    """Fill in the sign-in form and submit it with the button."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def alert_text(page: Page) -> str:
    alert = page.locator("section:not([hidden]) [role=alert]")
    alert.filter(has_text=re.compile(r"\S")).wait_for()
    return alert.inner_text()


def shoot(page: Page, name: str) -> Path:
    """Save a screenshot of the whole page under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path


def screen_options(scheme: str, viewport: dict[str, int]) -> dict[str, object]:
    """Browser context options for one screenshot variant (a phone below 500 px)."""
    mobile = viewport["width"] < 500
    return {"color_scheme": scheme, "viewport": viewport, "is_mobile": mobile, "has_touch": mobile}


def variants() -> Iterable[tuple[str, str, dict[str, int]]]:
    """(label, colour scheme, viewport) for light and dark, desktop and mobile."""
    for scheme in ("light", "dark"):
        yield f"{scheme}-desktop", scheme, DESKTOP
        yield f"{scheme}-mobile", scheme, MOBILE
