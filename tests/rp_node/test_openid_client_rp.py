"""node's openid-client, with its strict defaults, as an independent relying party.

The RP (tests/rp_node/rp.mjs) runs in node against a real `konnectd serve` process on a
loopback port; this test plays the browser: it follows the authorization URL the RP prints, signs in
through the identifier API and hands the URL the browser ends on back to the RP.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from konnect.crypto import public_subject
from tests.conftest import browser, require, sign_in

HERE = Path(__file__).parent
SUBJECT = public_subject("1001", "identifier-users")


def node_binary() -> str:
    node = shutil.which("node")
    installed = (HERE / "node_modules" / "openid-client").is_dir()
    require(
        node is not None and installed,
        "node or openid-client is missing: run ./scripts/test, which installs both",
    )
    assert node is not None
    return node


def follow(client: httpx.Client, issuer: str, url: str) -> str:
    """Where the browser ends when it opens url, signing in if konnect asks for it."""
    response = client.get(url)
    if response.status_code == 302 and response.headers["location"].startswith(
        issuer + "/signin/v1/identifier?"
    ):
        assert sign_in(client, issuer).status_code == 200
        response = client.get(url + "&prompt=none")
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def run_flow(konnectd: tuple[str, list[str]], flow: str) -> dict[str, Any]:
    issuer, _ = konnectd
    command = [node_binary(), str(HERE / "rp.mjs"), issuer, flow]
    message: dict[str, Any] = {"error": "the relying party printed nothing"}
    with (
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as process,
        browser(issuer) as client,
    ):
        assert process.stdin is not None
        assert process.stdout is not None
        for line in process.stdout:
            message = json.loads(line)
            if "browse" not in message:
                break
            process.stdin.write(follow(client, issuer, message["browse"]) + "\n")
            process.stdin.flush()
        process.stdin.close()
        process.wait(timeout=30)
    assert "error" not in message, message
    assert process.returncode == 0
    return dict(message["done"])


def check_tokens_used(result: dict[str, Any]) -> None:
    assert result["sub"] == SUBJECT
    assert result["name"] == "Jonas Brekke"
    assert result["userinfo"]["email"] == "jonas@example.com"
    assert result["refreshed_has_new_access_token"] is True
    assert result["refreshed_userinfo_sub"] == SUBJECT
    assert result["refreshed_id_token_sub"] in (None, SUBJECT)


def test_code_flow_with_pkce_refresh_and_userinfo(konnectd: tuple[str, list[str]]) -> None:
    check_tokens_used(run_flow(konnectd, "code"))


def test_hybrid_code_id_token_flow(konnectd: tuple[str, list[str]]) -> None:
    check_tokens_used(run_flow(konnectd, "hybrid"))


def test_rp_initiated_logout(konnectd: tuple[str, list[str]]) -> None:
    result = run_flow(konnectd, "logout")
    assert result["sub"] == SUBJECT
    assert result["returned_to"] == "http://127.0.0.1:9999/cb?state=STATE"
