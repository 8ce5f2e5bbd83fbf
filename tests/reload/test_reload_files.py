"""A reload also re-reads the validation keys, the scopes file and the Jitsi servers file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.reload.conftest import Konnectd, signed_in_browser

JITSI_SERVER = """
  - id: {name}
    url: https://{name}.example.com
    app_id: konnect
    secret_file: jitsi.secret
"""
JITSI_LOGIN = "/signin/v1/identifier/_/jitsi/login?room=standup&server="


def kids(server: Konnectd) -> set[str]:
    jwks = httpx.get(server.url + "/konnect/v1/jwks.json").json()
    return {key["kid"] for key in jwks["keys"]}


def test_reload_reads_the_validation_keys(
    start_konnectd: Callable[..., Konnectd], tmp_path: Path
) -> None:
    folder = tmp_path / "validation"
    folder.mkdir()
    server = start_konnectd(2, f"validation_keys_path = {folder}")
    assert "previous" not in kids(server)
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    (folder / "previous.pem").write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    server.reload()
    assert all("previous" in kids(server) for _ in range(4))
    (folder / "previous.pem").unlink()
    server.reload()
    assert all("previous" not in kids(server) for _ in range(4))


def test_reload_reads_the_scopes_file(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    scopes = config_dir / "scopes.yaml"
    scopes.write_text("scopes:\n  extra:\n    description: Extra\n")
    server = start_konnectd(1, f"identifier_scopes_conf = {scopes}")
    discovery = server.url + "/.well-known/openid-configuration"
    assert "another" not in httpx.get(discovery).json()["scopes_supported"]
    scopes.write_text(scopes.read_text() + "  another:\n    description: Another\n")
    server.reload()
    assert "another" in httpx.get(discovery).json()["scopes_supported"]


def test_reload_reads_the_jitsi_servers(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    (config_dir / "jitsi.secret").write_bytes(b"s" * 32)
    servers = config_dir / "jitsi.yaml"
    servers.write_text("jitsi:" + JITSI_SERVER.format(name="meet"))
    server = start_konnectd(1, f"jitsi_conf = {servers}")
    with signed_in_browser(server.url) as client:
        assert client.get(JITSI_LOGIN + "other").status_code == 400
        servers.write_text(servers.read_text() + JITSI_SERVER.format(name="other"))
        server.reload()
        answer = client.get(JITSI_LOGIN + "other")
        assert answer.status_code == 302
        assert answer.headers["location"].startswith("https://other.example.com/standup?jwt=")
