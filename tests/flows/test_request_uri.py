"""request_uri (OpenID Connect Core §6.2): request objects a client keeps at a URL it
registered, fetched from a real web server on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import RunningServer, browser, free_port, sign_in
from tests.flows.test_bad_input import REDIRECT, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


class ObjectHost:
    """The relying party's web server: serves request objects by path, counting fetches."""

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.fetches: list[str] = []

        async def serve(request: Request) -> Response:
            self.fetches.append(request.url.path)
            body = self.objects.get(request.url.path)
            if body is None:
                return Response(status_code=404)
            return Response(body, media_type="application/oauth-authz-req+jwt")

        self.server = RunningServer(Starlette(routes=[Route("/{p:path}", serve)]), free_port())
        self.server.start()
        self.url = self.server.url


@pytest.fixture
def host() -> Iterator[ObjectHost]:
    serving = ObjectHost()
    yield serving
    serving.server.stop()


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "rp-1"}, private=True)


@pytest.fixture
def server(
    server_factory: Callable[..., RunningServer], tmp_path: Path, host: ObjectHost, key: ECKey
) -> RunningServer:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        f"""
clients:
  - id: rp
    trusted: yes
    application_type: native
    redirect_uris: [{REDIRECT}]
    request_object_signing_alg: ES256
    jwks: {{"keys": [{json.dumps(key.as_dict(private=False))}]}}
    request_uris: ["{host.url}/request.jwt#v1", "{host.url}/missing.jwt"]
"""
    )
    return server_factory(identifier_registration_conf=registry)


def authorize(server: RunningServer, **params: str) -> httpx.Response:
    query = good_params(client_id="rp", prompt="none", scope="openid", **params)
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        return client.get(AUTHORIZE + "?" + urlencode(query))


def answer(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(REDIRECT + "?")
    return parse_qs(urlsplit(response.headers["location"]).query)


def signed(key: ECKey, **claims: str) -> str:
    return jwt.encode({"alg": "ES256", "kid": key.kid}, {"client_id": "rp", **claims}, key)


def test_a_registered_request_uri_is_fetched_and_used(
    server: RunningServer, host: ObjectHost, key: ECKey
) -> None:
    host.objects["/request.jwt"] = signed(key, state="from-object", scope="openid email")
    result = answer(authorize(server, request_uri=host.url + "/request.jwt#v2"))
    assert "code" in result
    assert result["state"] == ["from-object"]
    assert host.fetches == ["/request.jwt"]


def test_the_redirect_uri_may_come_from_the_fetched_object(
    server: RunningServer, host: ObjectHost, key: ECKey
) -> None:
    host.objects["/request.jwt"] = signed(key, redirect_uri=REDIRECT, state="s")
    result = answer(authorize(server, request_uri=host.url + "/request.jwt", redirect_uri="-"))
    assert "code" in result


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/other.jwt", "invalid_request_uri"),  # not registered: never fetched
        ("/missing.jwt", "invalid_request_uri"),  # registered, but 404
        ("/request.jwt", "invalid_request_object"),  # signed with another key
    ],
)
def test_unusable_request_uris_are_refused(
    server: RunningServer, host: ObjectHost, path: str, error: str
) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "x"}, private=True)
    host.objects["/request.jwt"] = signed(stranger)
    assert answer(authorize(server, request_uri=host.url + path))["error"] == [error]
    assert "/other.jwt" not in host.fetches


def test_request_and_request_uri_together_are_refused(
    server: RunningServer, host: ObjectHost, key: ECKey
) -> None:
    both = authorize(server, request_uri=host.url + "/request.jwt", request=signed(key))
    assert answer(both)["error"] == ["invalid_request"]
    assert host.fetches == []


def test_without_a_query_redirect_uri_failures_stay_on_an_error_page(
    server: RunningServer, host: ObjectHost
) -> None:
    response = authorize(server, request_uri=host.url + "/other.jwt", redirect_uri="-")
    assert response.status_code == 400
    assert "location" not in response.headers
