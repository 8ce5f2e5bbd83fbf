"""The administrators' example: scripts/guest-request signs guests into a real server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import RunningServer, free_port
from tests.flows.test_guest_flow import decode

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "guest_request.py"


def run_script(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_script_registers_a_meeting_client_and_signs_in_a_guest(
    server_factory: Callable[..., RunningServer], tmp_path: Path
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    redirect = issuer + "/demo/callback"
    key = tmp_path / "meet-key.json"
    entry = run_script("--redirect-uri", redirect, "keygen", str(key))
    registry = tmp_path / "registry.yaml"
    registry.write_text("clients:\n" + entry)
    server = server_factory(
        port=port, identifier_registration_conf=registry, allow_client_guests=True
    )
    common = ("--issuer", issuer, "--redirect-uri", redirect)
    url = run_script(*common, "url", "--key", str(key), "--name", "Bob", "--room", "r/1")
    response = httpx.get(url.strip(), follow_redirects=False)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    result = {name: values[0] for name, values in parse_qs(location.fragment).items()}
    access = decode(result["access_token"])
    assert access["kc.identity"]["kc.i.guest"] is True
    assert access["kc.identity"]["kc.i.da"]["n"] == "(Guest) Bob"
    assert access["kc.authorizedClaims"]["passthru"]["kopano/kwm/guest"]["path"] == "r/1"
    assert server.url == issuer
