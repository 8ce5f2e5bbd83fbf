"""The konnectd command as a real process: version, config errors, hash-password, healthcheck."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher

import konnect
from konnect.clients import load_registry


def konnectd(
    *args: str, stdin: str = "", extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "konnect", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


class _Health(BaseHTTPRequestHandler):
    """Answers POST /health-check with 200 and anything else with 404."""

    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.path)
        self.send_response(200 if self.path == "/health-check" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_version() -> None:
    result = konnectd("version")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"Version: {konnect.__version__}"
    assert lines[1].startswith("Python: 3.")


def test_no_command_prints_help_and_exits_2() -> None:
    result = konnectd()
    assert result.returncode == 2
    assert "serve [flags] <identity-manager>" in result.stderr


def test_serve_help() -> None:
    result = konnectd("serve", "--help")
    assert result.returncode == 0
    assert "--iss URL" in result.stdout


def test_config_errors_exit_2_with_every_problem_and_no_traceback() -> None:
    result = konnectd(
        "serve",
        "--iss",
        "http://idp.example.com",
        "--access-token-expiration",
        "soon",
        "--signing-method",
        "HS256",
        "users",
        "/nonexistent/users.yaml",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "konnectd: configuration error:"
    problems = [line.strip() for line in lines[1:]]
    assert [problem.split(":")[0] for problem in problems] == [
        "--iss",
        "--signing-method",
        "--access-token-expiration",
        "users file argument",
    ]


def test_unknown_flag_is_a_configuration_error() -> None:
    result = konnectd("serve", "--iss", "https://idp.example.com", "--bogus", "dummy")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "konnectd: configuration error:",
        "  command line: unrecognized arguments: --bogus",
    ]


def test_hash_password_from_stdin_verifies_with_argon2() -> None:
    result = konnectd("utils", "hash-password", "--stdin", stdin="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    password_hash = result.stdout.strip()
    assert password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(password_hash, "s3cret pass")


def test_hash_password_refuses_an_empty_password() -> None:
    result = konnectd("utils", "hash-password", "--stdin", stdin="\n")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "empty password" in result.stderr


def test_healthcheck_fails_against_a_closed_port() -> None:
    result = konnectd("healthcheck", "--hostname", f"127.0.0.1:{closed_port()}")
    assert result.returncode == 1
    assert result.stderr.startswith("healthcheck failed")
    assert len(result.stderr.strip().splitlines()) == 1


def test_healthcheck_succeeds_when_the_server_answers_200(
    health_server: ThreadingHTTPServer,
) -> None:
    port = health_server.server_address[1]
    result = konnectd("healthcheck", "--hostname", f"127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "healthcheck successful"
    assert _Health.seen[-1] == "/health-check"


def test_healthcheck_reports_a_bad_status(health_server: ThreadingHTTPServer) -> None:
    port = health_server.server_address[1]
    result = konnectd("healthcheck", "--hostname", f"127.0.0.1:{port}", "--path", "/missing")
    assert result.returncode == 1
    assert result.stderr.strip() == "healthcheck failed with status: 404"


def test_healthcheck_finds_the_server_from_a_wildcard_listen_address(
    health_server: ThreadingHTTPServer,
) -> None:
    port = health_server.server_address[1]
    result = konnectd("healthcheck", extra_env={"KONNECTD_LISTEN": f"0.0.0.0:{port}"})
    assert result.returncode == 0, result.stderr


def test_jwk_from_pem_yaml_is_accepted_by_the_client_registry(tmp_path: Path) -> None:
    """An admin's path: openssl EC key -> jwk-from-pem --yaml -> an item of `jwks: keys:`."""
    pem = tmp_path / "meet-kwmserver.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(pem)],
        check=True,
    )
    result = konnectd("utils", "jwk-from-pem", "--yaml", str(pem))
    assert result.returncode == 0, result.stderr
    jwk = yaml.safe_load(result.stdout)
    assert sorted(jwk) == ["crv", "d", "kid", "kty", "use", "x", "y"]
    assert jwk["kid"] == "meet-kwmserver"
    # A mapping as Konnect prints it; `y` quoted, or a YAML 1.1 reader (Go) reads true.
    assert f'\n"y": {jwk["y"]}\n' in result.stdout
    item = "\n".join(
        ("      - " if number == 0 else "        ") + line
        for number, line in enumerate(result.stdout.splitlines())
    )
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "clients:\n"
        "  - id: meet\n"
        "    trusted: yes\n"
        "    redirect_uris: [https://meet.example.com/meet/]\n"
        "    request_object_signing_alg: ES256\n"
        "    jwks:\n"
        "      keys:\n" + item + "\n"
    )
    client = load_registry(registry, "https://idp.example.com").get("meet")
    assert client is not None
    assert client.jwks is not None
    assert client.jwks["keys"][0]["y"] == jwk["y"]


def test_jwk_from_pem_yaml_quotes_the_rsa_modulus_n(tmp_path: Path) -> None:
    pem = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(pem), "2048"], check=True, capture_output=True)
    result = konnectd("utils", "jwk-from-pem", "--yaml", "--kid", "k1", str(pem))
    assert result.returncode == 0, result.stderr
    jwk = yaml.safe_load(result.stdout)
    assert jwk["kid"] == "k1"
    assert f'\n"n": {jwk["n"]}\n' in result.stdout


def test_jwk_from_pem_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    result = konnectd("utils", "jwk-from-pem", str(bad))
    assert result.returncode == 1
    assert "bad.pem" in result.stderr
    assert "Traceback" not in result.stderr
