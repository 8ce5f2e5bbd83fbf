"""Problems in independent parts of the configuration are reported together at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.http.app import create_app


def test_every_broken_file_is_reported_at_once(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_text("0" * 64)  # hex text instead of 32 raw bytes
    key = tmp_path / "signing.pem"
    key.write_text("not a key")
    registry = tmp_path / "registry.yaml"
    registry.write_text("clients:\n  - name: no id\n    redirect_uris: [https://a.example/cb]\n")
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - username: x\n")
    settings = Settings(
        issuer="https://idp.example.com",
        signing_private_keys=(key,),
        encryption_secret=secret,
        identifier_registration_conf=registry,
        users_file=users,
        data_dir=tmp_path,
    )
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    text = str(caught.value)
    for name in ("secret.key", "signing.pem", "registry.yaml", "users.yaml"):
        assert name in text


def test_client_alg_without_a_fitting_key_stops_startup(tmp_path: Path) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "clients:\n"
        "  - id: es-client\n"
        "    redirect_uris: [https://a.example/cb]\n"
        "    id_token_signed_response_alg: ES256\n"
    )
    users = tmp_path / "users.yaml"
    users.write_text("users: []\n")
    settings = Settings(
        issuer="https://idp.example.com",
        identifier_registration_conf=registry,
        users_file=users,
        data_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match="es-client"):
        create_app(settings)


def test_a_server_without_any_registered_client_starts(tmp_path: Path) -> None:
    users = Path(__file__).resolve().parents[1] / "etc" / "users.yaml"
    create_app(Settings(issuer="https://idp.example.com", users_file=users, data_dir=tmp_path))


def test_a_1024_bit_rsa_signing_key_stops_startup(tmp_path: Path) -> None:
    key = tmp_path / "konnectd-signing-private-key.pem"
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key.write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    users = Path(__file__).resolve().parents[1] / "etc" / "users.yaml"
    settings = Settings(
        issuer="https://idp.example.com",
        signing_private_keys=(key,),
        users_file=users,
        data_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match="1024 bits, 2048 are needed"):
        create_app(settings)


def test_an_unusable_state_file_stops_startup(tmp_path: Path) -> None:
    users = Path(__file__).resolve().parents[1] / "etc" / "users.yaml"
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = Settings(issuer="https://idp.example.com", users_file=users, data_dir=blocker)
    with pytest.raises(ConfigError, match=r"state_store: cannot open .*not-a-directory"):
        create_app(settings)


def test_mfa_without_a_lasting_secret_refuses_to_start(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users: []\n")
    settings = Settings(
        issuer="https://idp.example.com", users_file=users, data_dir=tmp_path, mfa="required"
    )
    with pytest.raises(ConfigError, match="--mfa-key FILE or --encryption-secret FILE"):
        create_app(settings)


def test_an_unknown_credential_store_scheme_stops_startup(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users: []\n")
    secret = tmp_path / "secret.key"
    secret.write_bytes(b"s" * 32)
    settings = Settings(
        issuer="https://idp.example.com",
        users_file=users,
        data_dir=tmp_path,
        encryption_secret=secret,
        mfa="required",
        credential_store="mysql://db/konnect",
    )
    with pytest.raises(ConfigError, match="unknown store 'mysql://db/konnect'"):
        create_app(settings)
