"""The cookie backend against a real small web application on a loopback port."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from konnect.http.app import Overrides
from konnect.observe import Events
from konnect.observe.metrics import Metrics
from tests.conftest import RunningServer, free_port
from tests.flows.test_bad_input import good_params
from tests.flows.test_consent_and_prompts import claims_of, exchange

AUTHORIZE = "/signin/v1/identifier/_/authorize"
COOKIE = "minioidc-simple"
SIGN_IN = "https://login.example.com/signin"
ALICE = {
    "sub": "alice",
    "name": "Alice Liddell",
    "given_name": "Alice",
    "family_name": "Liddell",
    "email": "alice@example.com",
    "id": 42,
}


@dataclass
class CookieApp:
    """The backend: cookie `minioidc-simple` is a user key; records what it was sent."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


def _backend_app(seen: list[dict[str, Any]]) -> Starlette:
    async def whoami(request: Request) -> Response:
        client = request.client
        seen.append(
            {
                "cookies": dict(request.cookies),
                "headers": dict(request.headers),
                "peer": client.port if client else None,
            }
        )
        key = request.cookies.get(COOKIE)
        if key is None:
            return Response(status_code=401)
        if key != "alice-key":
            return Response(status_code=403)
        return JSONResponse(ALICE, status_code=202)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse(ALICE)

    async def broken(request: Request) -> Response:
        return Response("oops", status_code=500)

    return Starlette(
        routes=[
            Route("/whoami", whoami, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
            Route("/broken", broken, methods=["POST"]),
        ]
    )


@pytest.fixture
def cookie_app() -> Iterator[CookieApp]:
    seen: list[dict[str, Any]] = []
    server = RunningServer(_backend_app(seen), free_port())
    server.start()
    yield CookieApp(server.url, seen)
    server.stop()


@pytest.fixture
def cookie_server(
    server_factory: Callable[..., RunningServer], cookie_app: CookieApp
) -> Callable[..., RunningServer]:
    def start(
        path: str = "/whoami", names: str = f"{COOKIE} other-name", **changes: object
    ) -> RunningServer:
        return server_factory(
            identity_manager="cookie",
            identity_manager_args=(cookie_app.url + path, names),
            sign_in_uri=SIGN_IN,
            cookie_backend_timeout=1,
            **changes,
        )

    return start


def authorize(
    server: RunningServer, cookies: dict[str, str] | None = None, **changes: str
) -> httpx.Response:
    with httpx.Client(base_url=server.url, cookies=cookies, follow_redirects=False) as client:
        return client.get(
            AUTHORIZE + "?" + urlencode(good_params(**changes)),
            headers={"User-Agent": "test-browser/1.0", "Accept-Language": "nl"},
        )


def query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    values = parse_qs(urlsplit(response.headers["location"]).query)
    return {key: value[0] for key, value in values.items()}


def test_signed_in_user_gets_tokens_with_profile_and_userinfo_replays_the_cookie(
    cookie_server: Callable[..., RunningServer], cookie_app: CookieApp
) -> None:
    server = cookie_server()
    cookies = {COOKIE: "alice-key", "unrelated": "secret"}
    result = query(authorize(server, cookies, scope="openid profile email offline_access"))
    sent = cookie_app.seen[-1]
    assert sent["cookies"] == {COOKIE: "alice-key"}
    assert sent["headers"]["user-agent"] == "test-browser/1.0"
    assert sent["headers"]["accept-language"] == "nl"
    assert sent["headers"]["x-konnect-request"].startswith("1/")
    assert "offline_access" not in result["scope"].split()
    tokens = exchange(server, result["code"])
    assert "refresh_token" not in tokens
    identity = claims_of(tokens["id_token"])
    assert identity["given_name"] == "Alice"
    assert identity["family_name"] == "Liddell"
    assert identity["email"] == "alice@example.com"
    access = claims_of(tokens["access_token"])
    assert access["kc.provider"] == "cookie"
    assert "alice-key" not in tokens["access_token"]
    before = len(cookie_app.seen)
    userinfo = httpx.get(
        server.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["name"] == "Alice Liddell"
    assert cookie_app.seen[before]["cookies"] == {COOKIE: "alice-key"}


def test_connections_to_the_backend_are_reused(
    cookie_server: Callable[..., RunningServer], cookie_app: CookieApp
) -> None:
    server = cookie_server()
    for _ in range(3):
        assert "code" in query(authorize(server, {COOKIE: "alice-key"}))
    peers = {entry["peer"] for entry in cookie_app.seen}
    assert len(peers) == 1


@pytest.mark.parametrize("cookies", [None, {COOKIE: "unknown-key"}, {"other": "x"}])
def test_not_signed_in_goes_to_the_sign_in_page_with_continue(
    cookie_server: Callable[..., RunningServer], cookies: dict[str, str] | None
) -> None:
    server = cookie_server()
    response = authorize(server, cookies)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(SIGN_IN + "?")
    values = query(response)
    assert values["oauth"] == "1"
    continued = values["continue"]
    assert continued.startswith(server.url + AUTHORIZE + "?")
    assert parse_qs(urlsplit(continued).query)["client_id"] == ["trusted-app"]
    assert query(authorize(server, cookies, prompt="none"))["error"] == "login_required"


@pytest.mark.parametrize("path", ["/broken", "/slow", "/down"])
def test_a_failing_backend_is_a_server_error_and_a_log_line(
    cookie_server: Callable[..., RunningServer],
    server_factory: Callable[..., RunningServer],
    path: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if path == "/down":
        server = server_factory(
            identity_manager="cookie",
            identity_manager_args=(f"http://127.0.0.1:{free_port()}/whoami",),
            sign_in_uri=SIGN_IN,
        )
    else:
        server = cookie_server(path)
    with caplog.at_level("ERROR"):
        result = query(authorize(server, {COOKIE: "alice-key"}))
    assert result["error"] == "server_error"
    assert result["state"] == "st"
    assert any("cookie backend" in record.getMessage() for record in caplog.records)


def test_session_checks_are_timed_and_failures_counted(
    cookie_server: Callable[..., RunningServer],
) -> None:
    events = Events(Metrics())
    registry = events.metrics.registry if events.metrics else None
    assert registry is not None
    labels = {"backend": "cookie", "operation": "session"}

    def checks() -> tuple[float, float]:
        return (
            registry.get_sample_value("konnect_backend_duration_seconds_count", labels) or 0.0,
            registry.get_sample_value("konnect_backend_errors_total", labels) or 0.0,
        )

    server = cookie_server(overrides=Overrides(events=events))
    tokens = exchange(server, query(authorize(server, {COOKIE: "alice-key"}))["code"])
    userinfo = httpx.get(
        server.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert userinfo.status_code == 200
    assert checks() == (2, 0)  # the authorization and userinfo's replay
    broken = cookie_server("/broken", overrides=Overrides(events=events))
    assert query(authorize(broken, {COOKIE: "alice-key"}))["error"] == "server_error"
    assert checks() == (3, 1)


def test_cookie_users_cannot_consent(cookie_server: Callable[..., RunningServer]) -> None:
    server = cookie_server()
    result = query(authorize(server, {COOKIE: "alice-key"}, prompt="consent"))
    assert result["error"] == "interaction_required"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "backend.crt", directory / "backend.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("insecure", [False, True])
def test_insecure_is_honoured_for_a_self_signed_backend(
    server_factory: Callable[..., RunningServer], tmp_path: Path, insecure: bool
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    port = free_port()
    backend = RunningServer(_backend_app([]), port)
    backend.server.config.ssl_certfile = str(cert_file)
    backend.server.config.ssl_keyfile = str(key_file)
    backend.start()
    try:
        server = server_factory(
            identity_manager="cookie",
            identity_manager_args=(f"https://127.0.0.1:{port}/whoami", COOKIE),
            sign_in_uri=SIGN_IN,
            insecure=insecure,
        )
        result = query(authorize(server, {COOKIE: "alice-key"}))
    finally:
        backend.stop()
    if insecure:
        assert "code" in result
    else:
        assert result["error"] == "server_error"
