"""Browser apps on another origin sign in with real OIDC libraries, in Chromium, without any
request routing: the browser does its own CORS checks against konnect's answers.

The apps (tests/browser/spa/) are served from http://localhost:<port>, konnect runs on
http://127.0.0.1:<other port>; oidc-client-ts signs in with code + PKCE, oidc-client (the
library Kopano Meet is built on) with implicit `id_token token`; both then load userinfo.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Response, expect

from tests.browser.browser_kit import sign_in
from tests.conftest import RunningServer, free_port

SPA = Path(__file__).resolve().parent / "spa"
BUNDLES = {
    "oidc-client-ts.min.js": SPA / "node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js",
    "oidc-client.min.js": SPA / "node_modules/oidc-client/dist/oidc-client.min.js",
}
CLIENT_ID = "spa"


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def spa_files(tmp_path: Path) -> Path:
    """The apps and their library bundles, as the static server serves them."""
    files = tmp_path / "www"
    files.mkdir()
    for name, bundle in BUNDLES.items():
        if not bundle.is_file():
            pytest.fail(f"{bundle} is missing: run ./scripts/test (npm ci in tests/browser/spa)")
        shutil.copy(bundle, files / name)
    for page in SPA.glob("*.html"):
        shutil.copy(page, files / page.name)
    (files / "favicon.ico").write_bytes(b"")
    return files


@pytest.fixture
def spa_origin(spa_files: Path) -> Iterator[str]:
    """A static file server for the apps on an origin of its own."""
    port = free_port()
    files = ThreadingHTTPServer(("127.0.0.1", port), partial(_QuietFiles, directory=spa_files))
    thread = threading.Thread(target=files.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    files.shutdown()
    files.server_close()


@pytest.fixture
def konnect_for_spa(
    server_factory: Callable[..., RunningServer], spa_origin: str, spa_files: Path, tmp_path: Path
) -> RunningServer:
    """konnect with the apps registered as one public web client; the apps learn its URL."""
    registry = tmp_path / "spa-registry.yaml"
    registry.write_text(
        f"""
clients:
  - id: {CLIENT_ID}
    name: Browser App
    trusted: yes
    # http on a loopback host is for native apps; a deployment registers its https app as web.
    application_type: native
    redirect_uris: [{spa_origin}/app-ts.html, {spa_origin}/app-legacy.html]
"""
    )
    konnect = server_factory(identifier_registration_conf=registry)
    config = {"authority": konnect.url, "client_id": CLIENT_ID}
    (spa_files / "config.js").write_text(f"const KONNECT = {json.dumps(config)};\n")
    return konnect


def sign_in_with(chromium: Browser, app_url: str) -> tuple[dict[str, Any], list[Response]]:
    """Open the app, sign in on konnect's page; what the library reported, and every answer
    the page received."""
    context = chromium.new_context(locale="en-US")
    answers: list[Response] = []
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def response(answer: Response) -> None:
        answers.append(answer)

    try:
        page = context.new_page()
        page.on("response", response)
        page.on("console", console)
        page.goto(app_url)
        page.get_by_role("button", name="Sign in with konnect").click()
        sign_in(page)
        result = page.locator("#result")
        expect(result).not_to_be_empty(timeout=15000)
        text = result.inner_text()
        assert not text.startswith("error"), (text, errors)
        assert errors == []
        return json.loads(text), answers
    finally:
        context.close()


def answer(answers: list[Response], method: str, url: str) -> Response:
    return next(one for one in answers if one.request.method == method and one.url == url)


def test_oidc_client_ts_signs_in_from_another_origin_with_code_and_pkce(
    chromium: Browser, konnect_for_spa: RunningServer, spa_origin: str
) -> None:
    result, answers = sign_in_with(chromium, spa_origin + "/app-ts.html")
    assert result["profile"]["sub"]
    assert result["profile"]["email"] == "jonas@example.com"
    assert answer(answers, "POST", konnect_for_spa.url + "/konnect/v1/token").status == 200
    assert answer(answers, "GET", konnect_for_spa.url + "/konnect/v1/userinfo").status == 200


def test_oidc_client_signs_in_from_another_origin_as_kopano_meet_does(
    chromium: Browser, konnect_for_spa: RunningServer, spa_origin: str
) -> None:
    result, answers = sign_in_with(chromium, spa_origin + "/app-legacy.html")
    assert result["profile"]["email"] == "jonas@example.com"
    assert answer(answers, "GET", konnect_for_spa.url + "/konnect/v1/userinfo").status == 200
