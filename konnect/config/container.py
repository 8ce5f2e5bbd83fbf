"""Konnect's packaging conventions: Docker secrets and the files of its /etc/kopano layout.

These are a layer below the cfg file: a default file is used only when no flag, variable or
cfg key sets its option, and only when it exists. Docker secrets come before /etc/kopano.
Both locations lie under a root, `/` unless KONNECTD_ROOT moves it; Konnect's image variables
KONNECTD_DOCKER_SECRETS_PATH and KONNECTD_*_FILE rename the secrets folder and files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "KONNECTD_ROOT"
SECRETS_PATH_ENV = "KONNECTD_DOCKER_SECRETS_PATH"
_SECRETS_FOLDER = "run/secrets"
_PACKAGE_FOLDER = "etc/kopano"


@dataclass(frozen=True)
class _Secret:
    """A file in the secrets folder, its default name and the variable that may rename it."""

    target: str
    name: str
    name_env: str | None
    # Variables set elsewhere that make this secret unused (besides the target itself).
    overridden_by: tuple[str, ...] = ()


# Option fields take the secret file's path; LDAP_BINDDN takes its content.
_OPTION_SECRETS = (
    _Secret("signing_private_keys", "konnectd_signing_private_key",
            "KONNECTD_SIGNING_PRIVATE_KEY_FILE"),
    _Secret("encryption_secret", "konnectd_encryption_secret", "KONNECTD_ENCRYPTION_SECRET_FILE"),
    _Secret("validation_keys_path", "konnectd_validation_keys", None),
)  # fmt: skip
_VARIABLE_SECRETS = (
    _Secret("LDAP_BINDDN", "konnectd_ldap_bind_dn", "KONNECTD_LDAP_BIND_DN_FILE"),
    _Secret("LDAP_BINDPW_FILE", "konnectd_ldap_bind_password",
            "KONNECTD_LDAP_BIND_PASSWORD_FILE", ("LDAP_BINDPW",)),
)  # fmt: skip
# Konnect's packages: the file names its setup wrote and its launcher looked for.
_PACKAGE_FILES = {
    "signing_private_keys": ("konnectd-signing-private-key.pem",),
    "encryption_secret": ("konnectd-encryption-secret.key", "konnectd-encryption.key"),
    "validation_keys_path": ("konnectkeys",),
    "identifier_registration_conf": ("konnectd-identifier-registration.yaml",),
    "identifier_scopes_conf": ("konnectd-identifier-scopes.yaml",),
}
_FOLDER_FIELDS = ("validation_keys_path",)


def container_root(environ: Mapping[str, str]) -> Path:
    """The folder the conventional locations are resolved under."""
    return Path(environ.get(ROOT_ENV, "").strip() or "/")


def default_files(environ: Mapping[str, str], unset: set[str]) -> dict[str, Path]:
    """The first existing conventional file of each option field in `unset`."""
    found = {}
    for field in _PACKAGE_FILES.keys() & unset:
        path = next((path for path in _candidates(environ, field) if _exists(field, path)), None)
        if path is not None:
            found[field] = path
    return found


def secret_variables(
    environ: Mapping[str, str], backend_env: Mapping[str, str], problems: list[str]
) -> dict[str, str]:
    """Backend variables not in `backend_env` taken from existing secret files.

    The bind password is passed as LDAP_BINDPW_FILE, so it is read where LDAP reads it.
    """
    found = {}
    for secret in _VARIABLE_SECRETS:
        path = _secret_path(environ, secret)
        overridden = {secret.target, *secret.overridden_by} & set(backend_env)
        if overridden or not path.is_file():
            continue
        if secret.target.endswith("_FILE"):
            found[secret.target] = str(path)
            continue
        try:
            found[secret.target] = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            problems.append(f"{path}: cannot read this secret as UTF-8 text")
    return found


def _candidates(environ: Mapping[str, str], field: str) -> list[Path]:
    secrets = [
        _secret_path(environ, secret) for secret in _OPTION_SECRETS if secret.target == field
    ]
    package = container_root(environ) / _PACKAGE_FOLDER
    return secrets + [package / name for name in _PACKAGE_FILES[field]]


def _secret_path(environ: Mapping[str, str], secret: _Secret) -> Path:
    folder = environ.get(SECRETS_PATH_ENV, "").strip()
    base = Path(folder) if folder else container_root(environ) / _SECRETS_FOLDER
    name = environ.get(secret.name_env, "").strip() if secret.name_env else ""
    return base / (name or secret.name)


def _exists(field: str, path: Path) -> bool:
    return path.is_dir() if field in _FOLDER_FIELDS else path.is_file()
