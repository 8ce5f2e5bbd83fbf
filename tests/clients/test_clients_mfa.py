"""A client's `mfa:` in the YAML registry and through dynamic registration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.clients.test_clients_loading import load, problems
from tests.conftest import RunningServer

ENTRY = "clients:\n  - id: app\n    redirect_uris: [https://app.example.com/cb]\n"
REGISTER = "/konnect/v1/register"


def test_the_registry_reads_mfa(tmp_path: Path) -> None:
    assert load(tmp_path, ENTRY + "    mfa: required\n").lookup("app", None).mfa == "required"
    assert load(tmp_path, ENTRY + "    mfa: optional\n").lookup("app", None).mfa == "optional"
    assert load(tmp_path, ENTRY).lookup("app", None).mfa == ""


def test_a_wrong_mfa_value_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, ENTRY + "    mfa: always\n")
    assert any("mfa must be one of required, optional" in problem for problem in found)


def test_dynamic_registration_carries_mfa(
    server_factory: Callable[..., RunningServer],
) -> None:
    server = server_factory(allow_dynamic_client_registration=True)
    body = {"redirect_uris": ["https://a.example.org/cb"], "mfa": "required"}
    answer = httpx.post(server.url + REGISTER, json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["mfa"] == "required"
    wrong = httpx.post(server.url + REGISTER, json={**body, "mfa": "never"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_client_metadata"
