"""The sign-in screen in a real browser: the code flow, its errors, keyboard, language, size."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Request, Route, expect

from konnect.http.app import Overrides
from konnect.identity import BackendUnavailable, User
from tests.browser.browser_kit import (
    LANGUAGES,
    MOBILE,
    ROOT,
    TRUSTED,
    alert_text,
    authorize_url,
    catalogue,
    client_result,
    shoot,
    sign_in,
)
from tests.browser.conftest import OpenPage
from tests.conftest import PASSWORD, RunningServer, api_headers

ServerFactory = Callable[..., RunningServer]
FIRST_LOAD_BUDGET = 100_000


class DownBackend:
    """A backend whose directory is unreachable."""

    name = "identifier-down"
    scopes: tuple[str, ...] = ("profile", "email")

    async def logon(self, username: str, password: str) -> User | None:
        raise BackendUnavailable("directory unreachable")

    async def lookup(self, subject: str) -> User | None:
        raise BackendUnavailable("directory unreachable")

    async def close(self) -> None:
        return None


def exchange(server: RunningServer, code: str) -> dict[str, object]:
    response = httpx.post(
        server.url + "/konnect/v1/token",
        data={"grant_type": "authorization_code", "code": code, **TRUSTED},
        auth=("trusted-app", "trusted-secret"),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def body_of(request: Request) -> bytes:
    response = request.response()
    if response is None or response.status == 204 or 300 <= response.status < 400:
        return b""
    return response.body()


def test_code_flow_from_a_relying_party(server: RunningServer, open_page: OpenPage) -> None:
    page, watch = open_page(server)
    watch.intercept(TRUSTED["redirect_uri"])
    page.goto(authorize_url(server.url, TRUSTED))
    page.wait_for_url("**/signin/v1/identifier?**")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page).to_have_title("Sign in")
    sign_in(page)
    result = client_result(page, watch)
    assert result["state"] == "rp-state"
    assert "access_token" in exchange(server, result["code"])
    assert len(watch.client_hits) == 1


def test_wrong_password_says_so_and_keeps_the_username(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, _ = open_page(server)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page, password="not the password")
    assert "Wrong username or password" in alert_text(page)
    expect(page.get_by_label("Username")).to_have_value("jonas")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_value("")
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_enabled()


def test_empty_fields_are_named_before_anything_is_sent(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server)
    page.goto(server.url + "/signin/v1/identifier")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert alert_text(page) == "Enter your username."
    expect(page.get_by_label("Username")).to_be_focused()
    page.get_by_label("Username").fill("jonas")
    page.keyboard.press("Enter")
    expect(page.locator("#signin-alert")).to_have_text("Enter your password.")
    assert not [r for r in watch.requests if r.url.endswith("/_/logon")]


def test_backend_down_is_not_a_wrong_password(
    server_factory: ServerFactory, open_page: OpenPage
) -> None:
    server = server_factory(Overrides(backend=DownBackend()))
    page, watch = open_page(server)
    watch.expect_status(503)
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page)
    text = alert_text(page)
    assert text.startswith("Sign-in is temporarily unavailable")
    assert "Wrong" not in text
    expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)
    shoot(page, "signin-unavailable-light-desktop")


def test_too_many_attempts_are_named(server: RunningServer, open_page: OpenPage) -> None:
    with httpx.Client(base_url=server.url) as client:
        for attempt in range(10):
            body = {"state": f"s{attempt}", "params": ["jonas", "wrong", "1"], "hello": None}
            client.post("/signin/v1/identifier/_/logon", json=body, headers=api_headers(server.url))
    page, watch = open_page(server)
    watch.expect_status(429)
    page.goto(server.url + "/signin/v1/identifier")
    sign_in(page)
    assert alert_text(page).startswith("Too many attempts")


def test_a_slow_sign_in_shows_progress_and_is_sent_once(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server)
    watch.intercept(TRUSTED["redirect_uri"])
    held: list[Route] = []
    page.route("**/_/logon", lambda route: held.append(route))
    page.goto(authorize_url(server.url, TRUSTED))
    sign_in(page)
    button = page.locator("#signin-button")
    expect(button).to_have_text("Signing in…")
    expect(button).to_have_attribute("aria-disabled", "true")
    button.click(force=True)
    page.keyboard.press("Enter")
    shoot(page, "signin-busy-light-desktop")
    assert len(held) == 1
    sent = json.loads(held[0].request.post_data or "{}")
    assert sent["params"][0] == "jonas"
    assert PASSWORD not in page.url
    held[0].continue_()
    client_result(page, watch)
    assert [r.url for r in watch.requests].count(server.url + "/signin/v1/identifier/_/logon") == 1
    storage = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert PASSWORD not in storage


def test_keyboard_only_sign_in(server: RunningServer, open_page: OpenPage) -> None:
    page, watch = open_page(server)
    watch.intercept(TRUSTED["redirect_uri"])
    page.goto(authorize_url(server.url, TRUSTED))
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("jonas")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show password")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    shoot(page, "signin-keyboard-focus-light-desktop")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    result = client_result(page, watch)
    assert result["code"]


def test_password_can_be_shown_and_hidden(server: RunningServer, open_page: OpenPage) -> None:
    page, _ = open_page(server)
    page.goto(server.url + "/signin/v1/identifier")
    password = page.get_by_label("Password", exact=True)
    password.fill("secret")
    page.get_by_role("button", name="Show password").click()
    expect(password).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(password).to_have_attribute("type", "password")


def test_ui_locales_renders_german(server: RunningServer, open_page: OpenPage) -> None:
    page, _ = open_page(server)
    page.goto(authorize_url(server.url, TRUSTED, ui_locales="de-CH fr"))
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.get_by_label("Benutzername")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page).to_have_title("Anmelden")
    page.get_by_label("Benutzername").fill("jonas")
    page.get_by_label("Passwort", exact=True).fill("falsch")
    page.get_by_role("button", name="Anmelden", exact=True).click()
    assert "Benutzername oder Passwort ist falsch" in alert_text(page)
    shoot(page, "signin-de-light-desktop")


def test_browser_language_and_the_switcher(server: RunningServer, open_page: OpenPage) -> None:
    page, _ = open_page(server, locale="nl-NL")
    page.goto(server.url + "/signin/v1/identifier")
    expect(page.get_by_role("heading", name="Inloggen")).to_be_visible()
    page.get_by_label("Taal").select_option("fr")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.reload()
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.goto(server.url + "/signin/v1/identifier?ui_locales=it")
    expect(page.get_by_role("heading", name="Accedi")).to_be_visible()


def test_every_language_has_every_message() -> None:
    """Every catalogue has exactly English's messages, each with the same placeholders."""
    english = catalogue("en")
    assert {"en", "de", "fr", "nl", "es", "it", "hi", "is", "nb", "pt-PT", "ru"} <= set(LANGUAGES)
    for code in LANGUAGES:
        messages = catalogue(code)
        assert messages.keys() == english.keys(), code
        for key, text in english.items():
            assert placeholders(messages[key]) == placeholders(text), (code, key)
        if code != "en":
            same = [key for key in english if messages[key] == english[key]]
            assert len(same) <= 3, (code, same)


def placeholders(message: str) -> list[str]:
    return sorted(re.findall(r"\{[^}]*\}|<[^>]*>", message))


def test_mobile_320px_has_no_horizontal_scrolling(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server, viewport=MOBILE, is_mobile=True, has_touch=True)
    watch.intercept(TRUSTED["redirect_uri"])
    page.goto(authorize_url(server.url, TRUSTED))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    box = page.get_by_role("button", name="Sign in", exact=True).bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= MOBILE["width"]
    sign_in(page)
    assert client_result(page, watch)["code"]


def test_first_load_is_small_and_stays_on_the_server(
    server: RunningServer, open_page: OpenPage
) -> None:
    page, watch = open_page(server)
    page.goto(authorize_url(server.url, TRUSTED), wait_until="networkidle")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    loaded = [r for r in watch.requests if r.response() is not None]
    transferred = sum(r.sizes()["responseBodySize"] for r in loaded)
    decoded = sum(len(body_of(r)) for r in loaded)
    report = ROOT / "artifacts" / "first-load.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(
        json.dumps({"transferred": transferred, "decoded": decoded, "requests": len(loaded)})
    )
    assert decoded < FIRST_LOAD_BUDGET
    assert transferred < FIRST_LOAD_BUDGET
    assert {r.url.split("?")[0].rsplit("/", 1)[-1].split(".")[0] for r in loaded} >= {
        "authorize",
        "identifier",
        "app",
        "hello",
    }
