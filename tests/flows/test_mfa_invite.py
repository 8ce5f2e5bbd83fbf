"""`konnectd mfa invite`: with `mfa_enrolment = admin_only`, the link the real command makes
lets that one user set up a first factor after the password, once, until it expires."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from konnect.mfa.totp import totp_code
from tests.conftest import PASSWORD, Clock, RunningServer, api_headers
from tests.flows.test_mfa_signin import client_of as client_of
from tests.flows.test_mfa_signin import clock as clock
from tests.flows.test_mfa_signin import mfa_server as mfa_server
from tests.flows.test_mfa_signin import post, seed_of
from tests.test_mfa_command import audited


def clean_environment() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KONNECTD_") and key != "OIDC_ISSUER_IDENTIFIER"
    }


def invite(
    server: RunningServer, config_dir: Path, key_dir: Path, subject: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "konnect", "mfa",
        "--data-dir", str(config_dir / "data"),
        "--encryption-secret", str(key_dir / "secret.key"),
        "--iss", server.url,
        "--audit-log", str(config_dir / "audit.log"),
        "invite", "identifier-users", subject, *extra,
    ]  # fmt: skip
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, env=clean_environment()
    )


def token_of(result: subprocess.CompletedProcess[str], server: RunningServer) -> str:
    assert result.returncode == 0, result.stderr
    link = result.stdout.splitlines()[0]
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == server.url + "/signin/v1/identifier"
    key, _, token = parts.fragment.partition("=")
    assert key == "mfa_invite"
    return token


def sign_in_invited(client: httpx.Client, token: str) -> httpx.Response:
    body = {"state": "s1", "params": ["jonas", PASSWORD, "1"], "hello": None, "mfa_invite": token}
    return client.post(
        "/signin/v1/identifier/_/logon", json=body, headers=api_headers(str(client.base_url))
    )


@pytest.fixture
def admin_only(mfa_server: Callable[..., RunningServer]) -> RunningServer:
    return mfa_server(mfa_enrolment="admin_only")


def test_an_invited_user_sets_up_a_factor_once(
    admin_only: RunningServer,
    client_of: Callable[..., httpx.Client],
    config_dir: Path,
    key_dir: Path,
    clock: Clock,
) -> None:
    token = token_of(invite(admin_only, config_dir, key_dir, "1001"), admin_only)
    client = client_of(admin_only)
    asked = sign_in_invited(client, token)
    assert asked.json()["hello"]["mfa"] == {"methods": [], "enrol": True}, asked.text
    offer = post(client, "mfa/enrol", step="begin").json()
    done = post(client, "mfa/enrol", step="confirm", code=totp_code(seed_of(offer), clock.now))
    assert done.json()["success"] is True, done.text
    again = sign_in_invited(client_of(admin_only), "x" + token[1:])
    assert again.json()["hello"]["mfa"]["methods"] == ["totp", "recovery"]
    assert audited(config_dir / "audit.log")[0]["event"] == "mfa_invite"
    refused = invite(admin_only, config_dir, key_dir, "1001")
    assert refused.returncode == 1
    assert "has a second factor already" in refused.stderr


def test_an_invitation_works_once_for_its_user_until_it_expires(
    admin_only: RunningServer,
    client_of: Callable[..., httpx.Client],
    config_dir: Path,
    key_dir: Path,
    clock: Clock,
) -> None:
    for_someone_else = token_of(invite(admin_only, config_dir, key_dir, "1002"), admin_only)
    assert sign_in_invited(client_of(admin_only), for_someone_else).json()["error"] == (
        "access_denied"
    )
    token = token_of(invite(admin_only, config_dir, key_dir, "1001"), admin_only)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert sign_in_invited(client_of(admin_only), tampered).json()["error"] == "access_denied"
    assert "mfa" in sign_in_invited(client_of(admin_only), token).json()["hello"]
    second_use = sign_in_invited(client_of(admin_only), token)
    assert second_use.json()["error"] == "access_denied"
    short = token_of(invite(admin_only, config_dir, key_dir, "1001", "--valid", "60"), admin_only)
    clock.now = time.time() + 61
    assert sign_in_invited(client_of(admin_only), short).json()["error"] == "access_denied"


def test_invite_needs_the_issuer(tmp_path: Path) -> None:
    (tmp_path / "konnect.db").touch()
    argv = [sys.executable, "-m", "konnect", "mfa", "--data-dir", str(tmp_path)]
    key = tmp_path / "k"
    key.write_bytes(b"k" * 32)
    result = subprocess.run(
        [*argv, "--mfa-key", str(key), "invite", "users", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_environment(),
    )
    assert result.returncode == 1
    assert "invite needs the issuer URL" in result.stderr
