"""Cross-origin requests as a browser on another origin sends them, against a running konnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from starlette.types import ASGIApp, Message

from konnect.config.model import Settings
from konnect.http.app import create_app
from tests.conftest import RunningServer, free_port

APP_ORIGIN = "http://localhost:5173"
# untrusted-app's redirect URI is https://rp.example.com/cb, so this origin is registered.
REGISTERED_ORIGIN = "https://rp.example.com"
OPEN_ENDPOINTS = [
    ("/.well-known/openid-configuration", "GET"),
    ("/konnect/v1/jwks.json", "GET"),
    ("/konnect/v1/token", "POST"),
    ("/konnect/v1/userinfo", "GET"),
    ("/konnect/v1/userinfo", "POST"),
    ("/konnect/v1/revoke", "POST"),
]


def preflight(
    server: RunningServer, path: str, method: str, origin: str = APP_ORIGIN
) -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    return httpx.options(server.url + path, headers=headers, timeout=10)


@pytest.mark.parametrize(("path", "method"), OPEN_ENDPOINTS)
def test_preflights_of_browser_endpoints_are_answered_for_any_origin(
    server: RunningServer, path: str, method: str
) -> None:
    response = preflight(server, path, method)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert method in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers


def test_introspection_preflight_only_for_registered_origins(server: RunningServer) -> None:
    path = "/konnect/v1/introspect"
    refused = preflight(server, path, "POST")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    allowed = preflight(server, path, "POST", REGISTERED_ORIGIN)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == REGISTERED_ORIGIN
    assert allowed.headers["vary"] == "Origin"


def test_introspection_answer_is_readable_only_by_a_registered_origin(
    server: RunningServer,
) -> None:
    form = {"token": "not-a-token"}
    auth = ("untrusted-app", "untrusted-secret")
    url = server.url + "/konnect/v1/introspect"
    registered = httpx.post(url, data=form, auth=auth, headers={"Origin": REGISTERED_ORIGIN})
    assert registered.json() == {"active": False}
    assert registered.headers["access-control-allow-origin"] == REGISTERED_ORIGIN
    other = httpx.post(url, data=form, auth=auth, headers={"Origin": APP_ORIGIN})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "path", ["/signin/v1/identifier/_/logon", "/konnect/v1/authorize", "/signin/v1/identifier"]
)
def test_sign_in_paths_stay_same_origin(server: RunningServer, path: str) -> None:
    response = preflight(server, path, "POST")
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code >= 400


def test_errors_of_open_endpoints_are_readable_cross_origin(server: RunningServer) -> None:
    """A browser app must be able to read why revocation refused it, not only a success."""
    response = httpx.post(
        server.url + "/konnect/v1/revoke",
        data={"token": "x", "client_id": "nobody"},
        headers={"Origin": APP_ORIGIN},
    )
    assert response.status_code in (400, 401)
    assert response.headers["access-control-allow-origin"] == "*"


def test_userinfo_errors_show_their_challenge_cross_origin(server: RunningServer) -> None:
    response = httpx.get(
        server.url + "/konnect/v1/userinfo",
        headers={"Origin": APP_ORIGIN, "Authorization": "Bearer nope"},
    )
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == "WWW-Authenticate"
    assert response.headers["www-authenticate"].startswith("Bearer error=")


def test_startup_and_shutdown_pass_the_cors_layer(
    settings_factory: Callable[..., Settings],
) -> None:
    """The layer sees lifespan messages too; they must reach the app, which closes its
    backend, store and outgoing connections on shutdown."""
    answers = asyncio.run(run_lifespan(create_app(settings_factory(free_port()))))
    assert answers == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def run_lifespan(app: ASGIApp) -> list[str]:
    """Start and stop the app as a server does; the types of the app's answers."""
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    incoming.put_nowait({"type": "lifespan.startup"})
    incoming.put_nowait({"type": "lifespan.shutdown"})
    answers: list[str] = []

    async def send(message: Message) -> None:
        answers.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, incoming.get, send)
    return answers
