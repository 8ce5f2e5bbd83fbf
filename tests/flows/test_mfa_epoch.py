"""`konnectd mfa reset --revoke-sessions` ends a user's sign-ins and refresh tokens: the real
command against the server's own SQLite file, the browser asking again with prompt=none and
the relying party refreshing. Without `--revoke-sessions` both keep working."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from konnect.mfa.epochs import EPOCH_CACHE_TTL
from tests.conftest import Clock, RunningServer, sign_in
from tests.flows.test_bad_input import AUTHORIZE, code_request, good_params
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import enrol, post, silent
from tests.flows.test_mfa_signin import mfa_server as mfa_server
from tests.test_mfa_command import konnectd

AUTH = ("trusted-app", "trusted-secret")
#: How the user signs in: mfa mode, and whether with a second factor (set up at sign-in).
WAYS = {"with_second_factor": ("required", True), "password_only": ("optional", False)}


def offline_tokens(server: RunningServer, client: httpx.Client) -> dict[str, str]:
    """A code for the signed-in browser, redeemed for tokens with a refresh token."""
    params = good_params(prompt="none", scope="openid offline_access")
    response = client.get(AUTHORIZE + "?" + urlencode(params))
    assert response.status_code == 302, response.text
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    tokens = httpx.post(server.url + "/konnect/v1/token", data=code_request(code), auth=AUTH)
    assert tokens.status_code == 200, tokens.text
    assert "refresh_token" in tokens.json()
    return dict(tokens.json())


def refresh(server: RunningServer, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return httpx.post(server.url + "/konnect/v1/token", data=data, auth=AUTH, timeout=10)


def signed_in(
    way: str, mfa_server: Callable[..., RunningServer], client_of: Callable[..., httpx.Client],
    clock: Clock,
) -> tuple[RunningServer, httpx.Client]:  # fmt: skip
    mode, with_factor = WAYS[way]
    server = mfa_server(mfa=mode)
    client = client_of(server)
    if with_factor:
        enrol(client, clock)
    else:
        assert sign_in(client, server.url).json()["success"] is True
    return server, client


def reset(data_dir: Path, *flags: str) -> None:
    done = konnectd(data_dir, "reset", "identifier-users", "1001", *flags)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("way", WAYS)
def test_a_reset_with_revoke_sessions_ends_sign_ins_and_refresh_tokens(
    way: str,
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    config_dir: Path,
) -> None:
    server, client = signed_in(way, mfa_server, client_of, clock)
    tokens = offline_tokens(server, client)
    rotated = refresh(server, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    reset(config_dir / "data", "--revoke-sessions")
    # Each process asks the store again once its reading is EPOCH_CACHE_TTL seconds old.
    assert "code" in silent(client)
    clock.advance(EPOCH_CACHE_TTL)
    assert silent(client)["error"] == "login_required"
    assert post(client, "hello").status_code == 204  # the web app: not signed in
    refused = refresh(server, rotated.json()["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # A new sign-in records the new epoch: it counts, and so do its refresh tokens.
    again = client_of(server)
    if WAYS[way][1]:
        enrol(again, clock)
    else:
        assert sign_in(again, server.url).json()["success"] is True
    assert refresh(server, offline_tokens(server, again)["refresh_token"]).status_code == 200


@pytest.mark.parametrize("way", WAYS)
def test_a_reset_without_revoke_sessions_keeps_sign_ins_and_refresh_tokens(
    way: str,
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    config_dir: Path,
) -> None:
    server, client = signed_in(way, mfa_server, client_of, clock)
    tokens = offline_tokens(server, client)
    reset(config_dir / "data")
    clock.advance(EPOCH_CACHE_TTL)
    assert "code" in silent(client)
    assert post(client, "hello").json()["success"] is True
    assert refresh(server, tokens["refresh_token"]).status_code == 200


def test_a_broken_credential_store_refuses_refresh_and_sign_in_until_it_is_back(
    mfa_server: Callable[..., RunningServer],
    client_of: Callable[..., httpx.Client],
    clock: Clock,
    tmp_path: Path,
) -> None:
    server, client = signed_in("password_only", mfa_server, client_of, clock)
    tokens = offline_tokens(server, client)
    # A second instance on the same state store, whose own credential file breaks.
    credentials = tmp_path / "other-credentials.db"
    other = mfa_server(mfa="optional", credential_store=f"sqlite:{credentials}")
    for suffix in ("-wal", "-shm"):
        Path(f"{credentials}{suffix}").unlink(missing_ok=True)
    credentials.write_bytes(b"not a database" * 512)
    down = refresh(other, tokens["refresh_token"])
    assert down.status_code == 503
    assert down.json()["error"] == "temporarily_unavailable"
    with httpx.Client(base_url=other.url, cookies=client.cookies) as browser_there:
        response = browser_there.get(AUTHORIZE + "?" + urlencode(good_params(prompt="none")))
    assert "error=temporarily_unavailable" in response.headers["location"]
    credentials.unlink()  # the store comes back (empty): the refresh goes through again
    assert refresh(other, tokens["refresh_token"]).status_code == 200
