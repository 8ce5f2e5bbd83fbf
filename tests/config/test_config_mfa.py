"""The MFA options: values, defaults, and the combinations that cannot work."""

from __future__ import annotations

from pathlib import Path

from konnect.config import Settings
from tests.config.test_config_load import ISSUER, load, problems_of, write_cfg


def test_mfa_is_off_by_default() -> None:
    settings = load(["--iss", ISSUER, "ldap"])
    assert (settings.mfa, settings.mfa_max_age, settings.mfa_enrolment) == (
        "off",
        43_200,
        "at_sign_in",
    )
    assert settings.mfa_methods == ("webauthn", "totp", "recovery")
    assert (settings.webauthn_rp_id, settings.webauthn_origins) == ("", ())
    assert settings.credential_store == ""


def test_mfa_options_from_flags_environment_and_cfg(tmp_path: Path) -> None:
    key = tmp_path / "mfa.key"
    key.write_bytes(b"k" * 32)
    cfg = write_cfg(
        tmp_path,
        "mfa = optional",
        "mfa_required_groups = admins staff",
        "mfa_max_age = 3600",
        f"mfa_key = {key}",
    )
    settings = load(
        ["--config", str(cfg), "--iss", ISSUER, "--mfa-satisfied-by", "forwarded_user", "ldap"],
        {"KONNECTD_MFA_ENROLMENT": "admin_only", "KONNECTD_CREDENTIAL_STORE": "sqlite:/x.db"},
    )
    assert settings.mfa == "optional"
    assert settings.mfa_required_groups == ("admins", "staff")
    assert settings.mfa_max_age == 3600
    assert settings.mfa_key == key
    assert settings.mfa_enrolment == "admin_only"
    assert settings.mfa_satisfied_by == ("forwarded_user",)
    assert settings.credential_store == "sqlite:/x.db"


def test_wrong_mfa_values_are_named() -> None:
    problems = problems_of(
        [
            "--iss",
            ISSUER,
            "--mfa",
            "sometimes",
            "--mfa-method",
            "sms",
            "--mfa-enrolment",
            "later",
            "--mfa-satisfied-by",
            "email",
            "--mfa-max-age",
            "0",
            "--credential-store",
            "no such",
            "ldap",
        ]
    )
    assert any("--mfa: 'sometimes'" in problem for problem in problems)
    assert any("--mfa-method: 'sms'" in problem for problem in problems)
    assert any("--mfa-enrolment: 'later'" in problem for problem in problems)
    assert any("--mfa-satisfied-by: 'email'" in problem for problem in problems)
    assert any("--mfa-max-age: must be at least 1" in problem for problem in problems)
    assert any("--credential-store" in problem for problem in problems)


def test_mfa_with_only_recovery_codes_is_refused() -> None:
    problems = problems_of(
        ["--iss", ISSUER, "--mfa", "required", "--mfa-method", "recovery", "ldap"]
    )
    assert any("needs a method besides recovery codes" in problem for problem in problems)


def test_mfa_beside_redis_needs_a_credential_store() -> None:
    argv = ["--iss", ISSUER, "--mfa", "required", "--state-store", "redis://127.0.0.1:6379", "ldap"]
    assert any("set --credential-store" in problem for problem in problems_of(argv))
    settings = load([*argv[:-1], "--credential-store", "sqlite:/shared/mfa.db", "ldap"])
    assert isinstance(settings, Settings)
    assert settings.credential_store == "sqlite:/shared/mfa.db"


def test_webauthn_rp_id_and_origins_are_checked() -> None:
    problems = problems_of(
        [
            "--iss",
            ISSUER,
            "--mfa",
            "required",
            "--webauthn-rp-id",
            "https://example.com",
            "--webauthn-origin",
            "https://example.com/signin",
            "--webauthn-origin",
            "example.com",
            "ldap",
        ]
    )
    assert any("--webauthn-rp-id: expected a domain" in problem for problem in problems)
    assert any("'https://example.com/signin'" in problem for problem in problems)
    assert any("'example.com'" in problem for problem in problems_of([
        "--iss", ISSUER, "--mfa", "required", "--webauthn-origin", "example.com", "ldap"
    ]))  # fmt: skip


def test_a_webauthn_rp_id_must_be_the_issuers_host_or_a_parent() -> None:
    argv = ["--iss", "https://login.example.com", "--mfa", "required", "--webauthn-rp-id"]
    assert load([*argv, "login.example.com", "ldap"]).webauthn_rp_id == "login.example.com"
    assert load([*argv, "Example.COM", "ldap"]).webauthn_rp_id == "example.com"
    for foreign in ("other.com", "ample.com"):
        problems = problems_of([*argv, foreign, "ldap"])
        assert any("browsers would refuse" in problem for problem in problems)
