"""Fixtures for the browser tests: one Chromium per test module, a watched page per use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.browser_kit import CHROMIUM, CHROMIUM_ARGS, Watch
from tests.conftest import RunningServer

OpenPage = Callable[..., tuple[Page, Watch]]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Chromium for one test module: Playwright's event loop must be gone before any other
    module's test runs its own."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run ./scripts/test, which installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium: Browser) -> Iterator[OpenPage]:
    """Opens a page in a fresh browser context; on teardown, checks that no page logged a
    console error and that no request left the loopback host."""
    opened: list[tuple[BrowserContext, Watch]] = []

    def open_one(server: RunningServer, **options: Any) -> tuple[Page, Watch]:
        options.setdefault("locale", "en-US")
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = chromium.new_context(**options)
        watch = Watch(server.url)
        watch.attach(context)
        page = context.new_page()
        watch.watch_page(page)
        opened.append((context, watch))
        return page, watch

    yield open_one
    for context, _ in opened:
        context.close()
    for _, watch in opened:
        assert watch.console_errors == []
        assert watch.leaks == []
        assert watch.off_host() == []
