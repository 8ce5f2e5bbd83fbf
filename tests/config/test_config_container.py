"""Konnect's packaging conventions: Docker secrets and /etc/kopano files below the cfg file."""

from __future__ import annotations

from pathlib import Path

import pytest

from konnect.config import ConfigError, Settings, load_settings

ISSUER = "https://idp.example.com"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A container root with Konnect's Docker secrets and /etc/kopano files."""
    secrets = tmp_path / "run" / "secrets"
    package = tmp_path / "etc" / "kopano"
    secrets.mkdir(parents=True)
    (package / "konnectkeys").mkdir(parents=True)
    for path in (
        secrets / "konnectd_signing_private_key",
        secrets / "konnectd_encryption_secret",
        package / "konnectd-signing-private-key.pem",
        package / "konnectd-encryption-secret.key",
        package / "konnectd-identifier-registration.yaml",
        package / "konnectd-identifier-scopes.yaml",
    ):
        path.write_text("x", encoding="utf-8")
    (secrets / "konnectd_ldap_bind_dn").write_text("cn=konnect,dc=example\n", encoding="utf-8")
    (secrets / "konnectd_ldap_bind_password").write_text("bind secret\n", encoding="utf-8")
    return tmp_path


def load(root: Path, *argv: str, **environ: str) -> Settings:
    return load_settings(["--iss", ISSUER, *argv], {"KONNECTD_ROOT": str(root), **environ})


def test_secrets_come_before_the_etc_kopano_files(root: Path) -> None:
    settings = load(root, "ldap")
    assert settings.signing_private_keys == (root / "run/secrets/konnectd_signing_private_key",)
    assert settings.encryption_secret == root / "run/secrets/konnectd_encryption_secret"
    assert settings.validation_keys_path == root / "etc/kopano/konnectkeys"
    registry = root / "etc/kopano/konnectd-identifier-registration.yaml"
    assert settings.identifier_registration_conf == registry
    assert settings.identifier_scopes_conf == root / "etc/kopano/konnectd-identifier-scopes.yaml"


def test_etc_kopano_files_are_used_without_secrets(root: Path) -> None:
    for secret in (root / "run/secrets").iterdir():
        secret.unlink()
    settings = load(root, "ldap")
    assert settings.signing_private_keys == (root / "etc/kopano/konnectd-signing-private-key.pem",)
    assert settings.encryption_secret == root / "etc/kopano/konnectd-encryption-secret.key"
    assert "LDAP_BINDDN" not in settings.backend_env


def test_a_validation_keys_secret_folder_is_used(root: Path) -> None:
    (root / "run/secrets/konnectd_validation_keys").mkdir()
    settings = load(root, "ldap")
    assert settings.validation_keys_path == root / "run/secrets/konnectd_validation_keys"


def test_flags_environment_and_cfg_win_over_the_defaults(root: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    for name in ("key.pem", "secret.key", "registry.yaml"):
        (own / name).write_text("x", encoding="utf-8")
    cfg = own / "konnectd.cfg"
    cfg.write_text(f"identifier_registration_conf = {own / 'registry.yaml'}\n", encoding="utf-8")
    settings = load(
        root,
        "--config",
        str(cfg),
        "--signing-private-key",
        str(own / "key.pem"),
        "ldap",
        KONNECTD_ENCRYPTION_SECRET=str(own / "secret.key"),
        LDAP_BINDDN="cn=own",
        LDAP_BINDPW="own password",
    )
    assert settings.signing_private_keys == (own / "key.pem",)
    assert settings.encryption_secret == own / "secret.key"
    assert settings.identifier_registration_conf == own / "registry.yaml"
    assert settings.backend_env["LDAP_BINDDN"] == "cn=own"
    assert "LDAP_BINDPW_FILE" not in settings.backend_env


def test_ldap_bind_secrets_become_backend_variables(root: Path) -> None:
    settings = load(root, "ldap")
    assert settings.backend_env["LDAP_BINDDN"] == "cn=konnect,dc=example"
    password_file = str(root / "run/secrets/konnectd_ldap_bind_password")
    assert settings.backend_env["LDAP_BINDPW_FILE"] == password_file


def test_konnect_image_variables_rename_the_secrets(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "vault"
    elsewhere.mkdir()
    (elsewhere / "my-key").write_text("x", encoding="utf-8")
    settings = load(
        root,
        "ldap",
        KONNECTD_DOCKER_SECRETS_PATH=str(elsewhere),
        KONNECTD_SIGNING_PRIVATE_KEY_FILE="my-key",
    )
    assert settings.signing_private_keys == (elsewhere / "my-key",)
    assert settings.encryption_secret == root / "etc/kopano/konnectd-encryption-secret.key"


def test_nothing_is_picked_up_from_an_empty_root(tmp_path: Path) -> None:
    settings = load(tmp_path, "ldap")
    assert settings == Settings(issuer=ISSUER, identity_manager="ldap")


def test_a_missing_root_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "nowhere", "ldap")
    assert caught.value.problems == [f"KONNECTD_ROOT: directory not found: {tmp_path / 'nowhere'}"]
