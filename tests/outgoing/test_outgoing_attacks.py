"""Attacks through what konnect fetches: a hostile server on loopback answers konnect's
outgoing requests (request_uri, sector_identifier_uri, back-channel logout, the cookie
backend) with compression bombs, dripped answers and internal addresses.

Memory is measured on a real `konnectd serve` process (its peak resident size)."""

from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from tests.conftest import (
    LOOPBACK,
    RunningServer,
    api_headers,
    browser,
    free_port,
    sign_in,
    wait_until_healthy,
)
from tests.flows.test_bad_input import REDIRECT, code_request, good_params
from tests.flows.test_dynamic_registration import ASSERTION_TYPE, _assertion
from tests.outgoing.hostile import Hostile, answer, drip, gzip_bomb, gzipped
from tests.pki import Pki

AUTHORIZE = "/signin/v1/identifier/_/authorize"
ENDSESSION = "/signin/v1/identifier/_/endsession"
REGISTER = "/konnect/v1/register"
#: The whole-answer deadline of every outgoing request (konnect.outgoing.client).
DEADLINE = 5.0
#: More growth than this of konnect's peak memory means an answer was inflated.
MEMORY_SLACK_KIB = 40 * 1024


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 200 KiB on the wire, 200 MiB inflated."""
    return gzip_bomb(200)


@dataclass
class Konnectd:
    """A `konnectd serve` process."""

    url: str
    process: subprocess.Popen[bytes]

    def peak_memory_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
        assert match is not None
        return int(match.group(1))


def start_konnectd(
    folder: Path, key_dir: Path, *lines: str, environment: dict[str, str] | None = None
) -> Konnectd:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = folder / "konnectd.cfg"
    cfg.write_text(
        "\n".join(
            [
                f"oidc_issuer_identifier = {url}",
                f"listen = 127.0.0.1:{port}",
                f"signing_private_key = {key_dir / 'rsa-key.pem'}",
                f"encryption_secret_key = {key_dir / 'secret.key'}",
                "log_level = error",
                *lines,
                "",
            ]
        )
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    env.update(environment or {})
    command = [sys.executable, "-m", "konnect", "serve", "--config", str(cfg)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    wait_until_healthy(url, process)
    return Konnectd(url, process)


def _client(client_id: str, **keys: str) -> str:
    extra = "".join(f"\n    {name}: {value}" for name, value in keys.items())
    return f"""
  - id: {client_id}
    secret: {client_id}-secret
    trusted: yes
    application_type: native
    redirect_uris: [{REDIRECT}]{extra}"""


@pytest.fixture(scope="module")
def konnectd(
    tmp_path_factory: pytest.TempPathFactory, key_dir: Path, password_hash: str, hostile: Hostile
) -> Iterator[Konnectd]:
    folder = tmp_path_factory.mktemp("outgoing")
    (folder / "users.yaml").write_text(
        f'users:\n  - username: jonas\n    password_hash: "{password_hash}"\n    id: "1001"\n'
    )
    (folder / "registry.yaml").write_text(
        "clients:"
        + _client("bomb-app", backchannel_logout_uri=f"{hostile.url}/logout-bomb")
        + _client(
            "uri-app",
            request_object_signing_alg="none",
            request_uris=f"[{hostile.url}/bomb.jwt, {hostile.url}/drip.jwt]",
        )
        + "\n"
    )
    server = start_konnectd(
        folder,
        key_dir,
        f"users_file = {folder / 'users.yaml'}",
        f"identifier_registration_conf = {folder / 'registry.yaml'}",
        "allow_dynamic_client_registration = yes",
        f"outgoing_allowed_networks = {' '.join(LOOPBACK)}",
    )
    yield server
    server.process.terminate()
    server.process.wait(timeout=15)


def _redirected_error(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["error"][0]


def _request_uri(konnectd: Konnectd, url: str, timeout: float = 30) -> httpx.Response:
    query = good_params(client_id="uri-app", request_uri=url)
    return httpx.get(konnectd.url + AUTHORIZE + "?" + urlencode(query), timeout=timeout)


def _register(
    konnect: Konnectd | RunningServer, timeout: float = 30, **metadata: Any
) -> httpx.Response:
    body = {"redirect_uris": ["https://a.example.org/cb"], "client_name": "Probe", **metadata}
    return httpx.post(konnect.url + REGISTER, json=body, timeout=timeout)


def _sign_in_and_authorize(client: httpx.Client, konnectd: Konnectd, client_id: str) -> str:
    """Signs in and gets tokens for `client_id` in this browser; the ID token."""
    assert sign_in(client, konnectd.url).status_code == 200
    params = good_params(client_id=client_id, prompt="none")
    response = client.get(AUTHORIZE + "?" + urlencode(params))
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        konnectd.url + "/konnect/v1/token",
        data=code_request(code),
        auth=(client_id, f"{client_id}-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["id_token"])


# -- compression bombs --------------------------------------------------------------------


def test_a_gzip_bomb_from_a_back_channel_logout_receiver_is_not_inflated(
    konnectd: Konnectd, hostile: Hostile, bomb: bytes
) -> None:
    hostile.behaviours["/logout-bomb"] = gzipped(bomb)
    before = konnectd.peak_memory_kib()
    with browser(konnectd.url) as client:
        id_token = _sign_in_and_authorize(client, konnectd, "bomb-app")
        ended = client.get(ENDSESSION, params={"id_token_hint": id_token})
        assert ended.status_code in (200, 302), ended.text
    [seen] = hostile.wait_for("/logout-bomb")
    assert seen.method == "POST"
    assert seen.headers["accept-encoding"] == "identity"
    time.sleep(0.5)
    assert konnectd.peak_memory_kib() - before < MEMORY_SLACK_KIB
    assert konnectd.process.poll() is None


def test_a_gzip_bomb_at_a_request_uri_is_refused_unread(
    konnectd: Konnectd, hostile: Hostile, bomb: bytes
) -> None:
    hostile.behaviours["/bomb.jwt"] = gzipped(bomb)
    before = konnectd.peak_memory_kib()
    assert (
        _redirected_error(_request_uri(konnectd, hostile.url + "/bomb.jwt"))
        == "invalid_request_uri"
    )
    [seen] = hostile.wait_for("/bomb.jwt")
    assert seen.headers["accept-encoding"] == "identity"
    assert konnectd.peak_memory_kib() - before < MEMORY_SLACK_KIB


# -- deadlines and callers that leave -----------------------------------------------------


def test_a_dripped_answer_is_cut_off_at_the_deadline(konnectd: Konnectd, hostile: Hostile) -> None:
    hostile.behaviours["/drip.jwt"] = drip(every=1.0, seconds=20)
    started = time.monotonic()
    response = _request_uri(konnectd, hostile.url + "/drip.jwt")
    took = time.monotonic() - started
    assert _redirected_error(response) == "invalid_request_uri"
    assert DEADLINE - 0.5 < took < DEADLINE + 2.5
    [seen] = hostile.wait_for("/drip.jwt")
    assert seen.lasted < DEADLINE + 2


def test_an_authorize_fetch_stops_when_its_caller_hangs_up(
    konnectd: Konnectd, hostile: Hostile
) -> None:
    hostile.behaviours["/drip.jwt"] = drip(every=0.5, seconds=20)
    hostile.seen.clear()
    with pytest.raises(httpx.ReadTimeout):
        _request_uri(konnectd, hostile.url + "/drip.jwt", timeout=1.0)
    [seen] = hostile.wait_for("/drip.jwt")
    assert seen.lasted < 2.5  # not the 5 s deadline


def test_a_registration_fetch_stops_when_its_caller_hangs_up(
    konnectd: Konnectd, hostile: Hostile
) -> None:
    hostile.behaviours["/sector-drip"] = drip(every=0.5, seconds=20)
    with pytest.raises(httpx.ReadTimeout):
        _register(konnectd, sector_identifier_uri=hostile.url + "/sector-drip", timeout=1.0)
    [seen] = hostile.wait_for("/sector-drip")
    assert seen.lasted < 2.5


def test_registrations_cannot_take_every_outgoing_connection(
    konnectd: Konnectd, hostile: Hostile
) -> None:
    hostile.behaviours["/sector-slow"] = drip(every=0.5, seconds=20)
    hostile.behaviours["/bomb.jwt"] = answer(b"not-a-jwt", content_type="text/plain")
    hostile.open_most = hostile.open_now
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        registering = [
            pool.submit(_register, konnectd, sector_identifier_uri=hostile.url + "/sector-slow")
            for _ in range(12)
        ]
        time.sleep(1.5)
        started = time.monotonic()
        # Another purpose still gets through at once.
        response = _request_uri(konnectd, hostile.url + "/bomb.jwt")
        assert _redirected_error(response) == "invalid_request_object"
        assert time.monotonic() - started < 1.5
        answers = [future.result() for future in registering]
    assert hostile.open_most - 1 <= 4  # the sector_identifier_uri fetches at once (+1)
    assert {response.status_code for response in answers} == {400}
    descriptions = {response.json()["error_description"] for response in answers}
    assert len(descriptions) == 1


# -- addresses and what error texts tell ----------------------------------------------------


def test_sector_identifier_failures_all_read_the_same(konnectd: Konnectd, hostile: Hostile) -> None:
    """Nothing in the answer tells what the server at sector_identifier_uri said."""
    listed = b'["https://a.example.org/cb"]'
    hostile.behaviours["/sector-ok"] = answer(listed)
    hostile.behaviours["/sector-other"] = answer(b'["https://b.example.org/cb"]')
    hostile.behaviours["/sector-object"] = answer(b'{"a": 1}')
    hostile.behaviours["/sector-html"] = answer(b"<h1>admin</h1>", content_type="text/html")
    hostile.behaviours["/sector-gzip"] = gzipped(b"\x1f\x8b" + listed)
    ok = _register(konnectd, sector_identifier_uri=hostile.url + "/sector-ok")
    assert ok.status_code == 201, ok.text
    failures = [
        _register(konnectd, sector_identifier_uri=hostile.url + path)
        for path in ("/sector-other", "/sector-object", "/sector-html", "/sector-gzip", "/none")
    ]
    assert {response.status_code for response in failures} == {400}
    assert len({response.text for response in failures}) == 1


@pytest.fixture
def strict_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """konnect as installed: no networks allowed beyond public ones."""
    return server_factory(allow_dynamic_client_registration=True, outgoing_allowed_networks=())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_dynamic_registration_cannot_make_konnect_call_loopback(
    strict_server: RunningServer, hostile: Hostile, host: str
) -> None:
    port = urlsplit(hostile.url).port
    hostile.behaviours["/internal"] = answer(b'["https://a.example.org/cb"]')
    hostile.seen.clear()
    refused = _register(strict_server, sector_identifier_uri=f"http://{host}:{port}/internal")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    assert hostile.at("/internal") == []


def test_a_dynamic_clients_request_uri_and_jwks_uri_stay_off_loopback(
    strict_server: RunningServer, hostile: Hostile
) -> None:
    hostile.seen.clear()
    client = _register(
        strict_server,
        redirect_uris=[REDIRECT],
        application_type="native",
        request_uris=[hostile.url + "/object.jwt"],
        jwks_uri=hostile.url + "/jwks.json",
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="ES256",
    ).json()
    query = good_params(client_id=client["client_id"], request_uri=hostile.url + "/object.jwt")
    response = httpx.get(strict_server.url + AUTHORIZE + "?" + urlencode(query))
    # The user never approved this dynamic client: its error is konnect's page, no redirect.
    assert response.status_code == 400
    assert "location" not in response.headers
    key = ECKey.generate_key("P-256", private=True)
    token = httpx.post(
        strict_server.url + "/konnect/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(strict_server, client["client_id"], key, "ES256"),
        },
    )
    assert token.status_code == 401
    assert hostile.seen == []


def test_a_gzip_bomb_from_the_cookie_backend_is_not_inflated(
    tmp_path: Path, key_dir: Path, hostile: Hostile, bomb: bytes
) -> None:
    """The cookie backend is the operator's, but its answers are bounded all the same."""
    hostile.behaviours["/whoami"] = gzipped(bomb)
    (tmp_path / "registry.yaml").write_text("clients:" + _client("cookie-app") + "\n")
    konnectd = start_konnectd(
        tmp_path,
        key_dir,
        f"identifier_registration_conf = {tmp_path / 'registry.yaml'}",
        "identity_manager = cookie",
        f'identity_manager_args = {hostile.url}/whoami "session"',
        "sign_in_uri = /login",
    )
    try:
        before = konnectd.peak_memory_kib()
        query = good_params(client_id="cookie-app")
        response = httpx.get(
            konnectd.url + AUTHORIZE + "?" + urlencode(query), cookies={"session": "s"}
        )
        assert _redirected_error(response) == "server_error"
        [seen] = hostile.wait_for("/whoami")
        assert seen.headers["accept-encoding"] == "identity"
        assert konnectd.peak_memory_kib() - before < MEMORY_SLACK_KIB
    finally:
        konnectd.process.terminate()
        konnectd.process.wait(timeout=15)


def test_tls_checks_the_host_name_of_the_url_not_the_pinned_address(
    tmp_path: Path, key_dir: Path
) -> None:
    """konnect connects to the address it checked, but the certificate must still be for the
    URL's host: `localhost` passes, the same server named by its address does not."""
    pki = Pki(tmp_path)
    ca_file = pki.ca_file
    secure = Hostile(tls=pki.server_context())
    secure.behaviours["/sector"] = answer(b'["https://a.example.org/cb"]')
    port = urlsplit(secure.url).port
    konnectd = start_konnectd(
        tmp_path,
        key_dir,
        "identity_manager = dummy",
        "allow_dynamic_client_registration = yes",
        f"outgoing_allowed_networks = {' '.join(LOOPBACK)}",
        environment={"SSL_CERT_FILE": str(ca_file)},
    )
    try:
        by_name = _register(konnectd, sector_identifier_uri=f"https://localhost:{port}/sector")
        assert by_name.status_code == 201, by_name.text
        by_address = _register(konnectd, sector_identifier_uri=f"{secure.url}/sector")
        assert by_address.status_code == 400
        assert len(secure.at("/sector")) == 1
    finally:
        konnectd.process.terminate()
        konnectd.process.wait(timeout=15)
        secure.stop()


@pytest.mark.parametrize("allowed", [LOOPBACK, ()], ids=["allowed", "strict"])
def test_a_dynamic_clients_back_channel_logout_reaches_loopback_only_when_allowed(
    server_factory: Callable[..., RunningServer], hostile: Hostile, allowed: tuple[str, ...]
) -> None:
    server = server_factory(
        allow_dynamic_client_registration=True, outgoing_allowed_networks=allowed
    )
    path = f"/logout-{len(allowed)}"
    hostile.behaviours[path] = answer(b"")
    client = _register(
        server,
        application_type="native",
        redirect_uris=[REDIRECT],
        backchannel_logout_uri=hostile.url + path,
    ).json()
    with browser(server.url) as web:
        assert sign_in(web, server.url).status_code == 200
        id_token = _consented_id_token(web, server, client)
        ended = web.get(ENDSESSION, params={"id_token_hint": id_token})
        assert ended.status_code in (200, 302), ended.text
    if allowed:
        [seen] = hostile.wait_for(path)
        assert seen.method == "POST"
    else:
        time.sleep(1.0)
        assert hostile.at(path) == []


def _consented_id_token(web: httpx.Client, server: RunningServer, client: dict[str, Any]) -> str:
    """A dynamic client's ID token, after the user consents in this browser."""
    params = good_params(client_id=client["client_id"], scope="openid")
    first = web.get(AUTHORIZE + "?" + urlencode(params))
    assert "flow=consent" in first.headers["location"]
    consent = {
        "state": "c1",
        "allow": True,
        "scope": "openid",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "ref": "st",
        "flow_nonce": "nc",
    }
    said = web.post(
        "/signin/v1/identifier/_/consent", json=consent, headers=api_headers(server.url)
    )
    assert said.status_code == 200, said.text
    done = web.get(AUTHORIZE + "?" + urlencode({**params, "prompt": "none", "konnect": "c1"}))
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=(client["client_id"], client["client_secret"]),
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["id_token"])


@pytest.mark.parametrize(
    "url",
    ["https://bücher.example/sector", "https://example.org:99999/sector", "https://[::1/sector"],
)
def test_urls_konnect_cannot_fetch_are_refused_cleanly(
    strict_server: RunningServer, url: str
) -> None:
    refused = _register(strict_server, sector_identifier_uri=url)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
