"""Loading Settings: precedence, validation, list options, identity managers, backend env."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from konnect.config import ConfigError, Settings, load_settings

ISSUER = "https://idp.example.com"


def load(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(list(argv), environ or {})


def problems_of(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(argv, environ)
    return caught.value.problems


def write_cfg(folder: Path, *lines: str) -> Path:
    path = folder / "konnectd.cfg"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    names = ("users.yaml", "a.pem", "b.pem", "secret.key", "registry.yaml", "scopes.yaml")
    made = {}
    for name in names:
        made[name] = tmp_path / name
        made[name].write_text("x", encoding="utf-8")
    made["keys"] = tmp_path / "keys"
    made["keys"].mkdir()
    return made


# -- defaults and precedence --------------------------------------------------------------


def test_defaults_with_only_the_required_settings() -> None:
    settings = load(["--iss", ISSUER, "ldap"])
    assert settings == Settings(issuer=ISSUER, identity_manager="ldap")
    assert settings.warnings == ()


@pytest.mark.parametrize(
    ("flag", "env", "cfg_key", "field", "values"),
    [
        ("--listen", "KONNECTD_LISTEN", "listen", "listen",
         ("1.1.1.1:1", "2.2.2.2:2", "3.3.3.3:3")),
        ("--signing-method", "KONNECTD_SIGNING_METHOD", "signing_method", "signing_method",
         ("ES256", "RS512", "EdDSA")),
        ("--log-level", "KONNECTD_LOG_LEVEL", "log_level", "log_level", ("debug", "warn", "error")),
        ("--state-store", "KONNECTD_STATE_STORE", "state_store", "state_store",
         ("redis://a:6379/0", "rediss://b", "unix:///run/redis.sock")),
        ("--signing-kid", "KONNECTD_SIGNING_KID", "signing_kid", "signing_kid",
         ("flag-kid", "env-kid", "cfg-kid")),
        ("--workers", "KONNECTD_WORKERS", "workers", "workers", ("4", "3", "2")),
    ],
)  # fmt: skip
def test_flag_beats_environment_beats_cfg_beats_default(
    tmp_path: Path, flag: str, env: str, cfg_key: str, field: str, values: tuple[str, str, str]
) -> None:
    from_flag, from_env, from_cfg = values
    redis = ["--state-store", "redis://shared"] if field == "workers" else []
    cfg = write_cfg(tmp_path, f"{cfg_key} = {from_cfg}")
    base = ["--iss", ISSUER, "--config", str(cfg), *redis, "ldap"]
    default = getattr(Settings(issuer=ISSUER), field)

    def value(argv: list[str], environ: dict[str, str]) -> object:
        return getattr(load(argv, environ), field)

    expected_type = type(default) if default is not None else str
    assert value([*base, flag, from_flag], {env: from_env}) == expected_type(from_flag)
    assert value(base, {env: from_env}) == expected_type(from_env)
    assert value(base, {}) == expected_type(from_cfg)
    assert value(["--iss", ISSUER, *redis, "ldap"], {}) == default


def test_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, f"oidc_issuer_identifier = {ISSUER}", "identity_manager = ldap")
    settings = load([], {"KONNECTD_CONFIG": str(cfg)})
    assert (settings.issuer, settings.identity_manager) == (ISSUER, "ldap")


def test_issuer_from_konnect_environment_variable_beats_cfg(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "oidc_issuer_identifier = https://cfg.example.com")
    settings = load(["--config", str(cfg), "ldap"], {"OIDC_ISSUER_IDENTIFIER": ISSUER})
    assert settings.issuer == ISSUER


def test_empty_environment_value_means_unset(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "listen = 10.0.0.1:80")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"], {"KONNECTD_LISTEN": " "})
    assert settings.listen == "10.0.0.1:80"


def test_bool_flags_override_cfg_both_ways(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "insecure = yes", "allow_client_guests = no")
    base = ["--iss", ISSUER, "--config", str(cfg), "ldap"]
    assert load(base).insecure is True
    assert load([*base, "--insecure=false"]).insecure is False
    assert load([*base, "--no-insecure"]).insecure is False
    assert load([*base, "--allow-client-guests"]).allow_client_guests is True
    assert load([*base, "--allow-client-guests=yes"]).allow_client_guests is True


def test_bool_switch_does_not_swallow_the_identity_manager() -> None:
    settings = load(["--iss", ISSUER, "--insecure", "ldap"])
    assert (settings.insecure, settings.identity_manager) == (True, "ldap")


def test_flags_may_follow_the_identity_manager(files: dict[str, Path]) -> None:
    settings = load(["users", str(files["users.yaml"]), "--iss", ISSUER, "--listen", "[::1]:9"])
    assert settings.users_file == files["users.yaml"]
    assert settings.listen == "[::1]:9"


# -- validation ---------------------------------------------------------------------------


def test_every_problem_is_collected_and_names_its_source(tmp_path: Path) -> None:
    cfg = write_cfg(
        tmp_path,
        "workers = many",
        "this line is wrong",
        "allow_client_guests = maybe",
        "identifier_scopes_conf = /nonexistent/scopes.yaml",
        "state_store = memcached://x",
    )
    problems = problems_of(
        [
            "--config", str(cfg),
            "--iss", "ftp://idp.example.com",
            "--access-token-expiration", "-5",
            "--signing-method", "HS256",
            "--log-level", "loud",
            "--listen", "nowhere",
            "--signing-private-key", "/nonexistent/key.pem",
            "--validation-keys-path", str(cfg),
            "--encryption-secret", "/nonexistent/secret",
            "--identifier-registration-conf", str(tmp_path),
            "--trusted-proxy", "10.0.0.0/33",
            "--sign-in-uri", "signin",
            "users", "/nonexistent/users.yaml",
        ],
        {"KONNECTD_LOG_LEVEL": "debug"},
    )  # fmt: skip
    expected = [
        f"{cfg}:2: expected key = value",
        "--iss: 'ftp://idp.example.com' must be an https:// URL with a host",
        "--listen: expected HOST:PORT",
        "--signing-private-key: file not found: /nonexistent/key.pem",
        "--signing-method: 'HS256' is not one of",
        f"--validation-keys-path: directory not found: {cfg}",
        "--encryption-secret: file not found: /nonexistent/secret",
        f"--identifier-registration-conf: not a file: {tmp_path}",
        f"{cfg}:4: identifier_scopes_conf: file not found",
        "--sign-in-uri: expected a path starting with /",
        "--trusted-proxy: not an IP address or CIDR network: 10.0.0.0/33",
        "--access-token-expiration: expected a whole number >= 0, got '-5'",
        f"{cfg}:3: allow_client_guests: expected yes/no",
        "--log-level: 'loud' is not one of panic, fatal, error, warn, info, debug",
        f"{cfg}:5: state_store: expected memory, redis://",
        f"{cfg}:1: workers: expected a whole number >= 0, got 'many'",
        "users file argument: file not found: /nonexistent/users.yaml",
    ]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), (problem, start)


def test_missing_issuer_is_a_problem() -> None:
    assert problems_of(["ldap"]) == [
        "issuer is required: set --iss, OIDC_ISSUER_IDENTIFIER or cfg oidc_issuer_identifier"
    ]


@pytest.mark.parametrize(
    "issuer",
    ["http://127.0.0.1:8777", "http://127.8.9.10", "http://[::1]:8080/idp", "http://localhost"],
)
def test_http_issuer_is_accepted_on_loopback_with_a_warning(issuer: str) -> None:
    settings = load(["--iss", issuer, "ldap"])
    assert settings.issuer == issuer
    assert len(settings.warnings) == 1
    assert "plain http://" in settings.warnings[0]


@pytest.mark.parametrize(
    "issuer",
    [
        "http://idp.example.com",
        "http://10.0.0.1",
        "http://[::2]",
        "http://localhost.example.com",
        "https://",
        "https:///path",
        "idp.example.com",
        "https://idp.example.com/?x=1",
        "https://idp.example.com/#frag",
        "https://user@idp.example.com",
        "https://idp.example.com:notaport",
    ],
)
def test_bad_issuers_are_refused(issuer: str) -> None:
    [problem] = problems_of(["--iss", issuer, "ldap"])
    assert problem.startswith(f"--iss: '{issuer}'")


def test_https_issuer_gives_no_warning() -> None:
    assert load(["--iss", "https://idp.example.com/konnect", "ldap"]).warnings == ()


def test_bad_flag_is_a_config_error_not_an_exit() -> None:
    assert problems_of(["--iss", ISSUER, "--no-such-flag", "ldap"]) == [
        "command line: unrecognized arguments: --no-such-flag"
    ]


def test_flag_without_its_value_is_a_config_error() -> None:
    [problem] = problems_of(["ldap", "--iss"])
    assert problem.startswith("command line:")
    assert "--iss" in problem


def test_bad_bool_flag_value_is_a_problem() -> None:
    assert problems_of(["--iss", ISSUER, "--insecure=perhaps", "ldap"]) == [
        "--insecure: expected yes/no, true/false or 1/0, got 'perhaps'"
    ]


def test_unreadable_config_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.cfg"
    [problem] = problems_of(["--iss", ISSUER, "--config", str(missing), "ldap"])
    assert problem.startswith(f"{missing}: cannot read configuration file")


def test_unknown_cfg_keys_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    cfg = write_cfg(
        tmp_path, "# comment", "kc_server_uri = file:///run/kopano/server.sock", "colour = blue"
    )
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    assert settings.warnings == (
        f"{cfg}:2: unknown key 'kc_server_uri' ignored (the Kopano Groupware backend is not "
        "available in konnect)",
        f"{cfg}:3: unknown key 'colour' ignored",
    )  # fmt: skip


def test_several_workers_need_a_shared_state_store() -> None:
    argv = ["--iss", ISSUER, "--workers", "2", "--state-store", "memory", "ldap"]
    [problem] = problems_of(argv)
    assert problem.startswith("--workers: 2 workers need a shared state store")
    for store in ("redis://r", "sqlite", "sqlite:/var/lib/konnect/state.db"):
        shared = load(["--iss", ISSUER, "--workers", "2", "--state-store", store, "ldap"])
        assert shared.workers == 2
    assert load(["--iss", ISSUER, "--workers", "2", "ldap"]).state_store == "sqlite"


def test_zero_workers_is_refused() -> None:
    problems = problems_of(["--iss", ISSUER, "--workers", "0", "ldap"])
    assert problems == ["--workers: must be at least 1"]


def test_konnect_only_flags_are_accepted_and_reported() -> None:
    settings = load(["--iss", ISSUER, "--log-timestamp=false", "--with-pprof", "ldap"])
    assert settings.warnings == ("--with-pprof is not supported by konnect and is ignored",)


def test_metrics_are_off_unless_asked_for() -> None:
    assert load(["--iss", ISSUER, "ldap"]).metrics_address == ""
    assert load(["--iss", ISSUER, "--with-metrics", "ldap"]).metrics_address == "127.0.0.1:6777"
    elsewhere = load(["--iss", ISSUER, "--metrics-listen=0.0.0.0:9100", "ldap"])
    assert elsewhere.metrics_address == "0.0.0.0:9100"


def test_metrics_never_share_the_public_listener() -> None:
    problems = problems_of(
        ["--iss", ISSUER, "--listen=0.0.0.0:8777", "--metrics-listen=0.0.0.0:8777", "ldap"]
    )
    assert problems == [
        "--metrics-listen: metrics need their own address, never the public listener"
    ]


# -- normalising --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"), [("/", ""), ("idp", "/idp"), ("/idp/", "/idp"), ("/a/b", "/a/b")]
)
def test_uri_base_path_is_normalised(given: str, expected: str) -> None:
    assert load(["--iss", ISSUER, "--uri-base-path", given, "ldap"]).uri_base_path == expected


def test_zero_token_lifetimes_mean_the_defaults() -> None:
    settings = load(
        ["--iss", ISSUER, "--access-token-expiration", "0", "--id-token-expiration", "0",
         "--refresh-token-expiration", "0", "--dynamic-client-secret-expiration", "0", "ldap"]
    )  # fmt: skip
    defaults = Settings(issuer=ISSUER)
    assert settings.access_token_expiration == defaults.access_token_expiration
    assert settings.id_token_expiration == defaults.id_token_expiration
    assert settings.refresh_token_expiration == defaults.refresh_token_expiration
    assert settings.dynamic_client_secret_expiration == 0


def test_cfg_web_resources_path_points_into_identifier_webapp(tmp_path: Path) -> None:
    (tmp_path / "share" / "identifier-webapp").mkdir(parents=True)
    cfg = write_cfg(tmp_path, f"web_resources_path = {tmp_path / 'share'}")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    assert settings.identifier_client_path == tmp_path / "share" / "identifier-webapp"


def test_cfg_web_resources_path_is_used_as_is_without_identifier_webapp(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, f"web_resources_path = {tmp_path}")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    assert settings.identifier_client_path == tmp_path


def test_flag_identifier_client_path_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "identifier-webapp").mkdir()
    settings = load(["--iss", ISSUER, "--identifier-client-path", str(tmp_path), "ldap"])
    assert settings.identifier_client_path == tmp_path


# -- list options -------------------------------------------------------------------------


def test_repeatable_flags_collect_every_value(files: dict[str, Path]) -> None:
    settings = load(
        ["--iss", ISSUER,
         "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "2001:db8::/32",
         "--allow-scope", "openid", "--allow-scope", "profile",
         "--signing-private-key", str(files["a.pem"]), "--signing-private-key", str(files["b.pem"]),
         "ldap"]
    )  # fmt: skip
    assert settings.trusted_proxies == ("10.0.0.1", "2001:db8::/32")
    assert settings.allowed_scopes == ("openid", "profile")
    assert settings.signing_private_keys == (files["a.pem"], files["b.pem"])


def test_cfg_and_environment_lists_are_space_separated(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    cfg = write_cfg(
        tmp_path,
        "trusted_proxies = 10.0.0.0/8   192.168.1.1",
        "allowed_scopes = openid email",
    )
    environ = {"KONNECTD_SIGNING_PRIVATE_KEY": f"{files['a.pem']} {files['b.pem']}"}
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"], environ)
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert settings.allowed_scopes == ("openid", "email")
    assert settings.signing_private_keys == (files["a.pem"], files["b.pem"])


def test_flag_list_replaces_the_cfg_list(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "allowed_scopes = openid email")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "--allow-scope", "profile", "ldap"])
    assert settings.allowed_scopes == ("profile",)


# -- identity managers --------------------------------------------------------------------


def test_users_file_from_the_positional_argument(files: dict[str, Path]) -> None:
    settings = load(["--iss", ISSUER, "users", str(files["users.yaml"])])
    assert settings.identity_manager == "users"
    assert settings.identity_manager_args == (str(files["users.yaml"]),)
    assert settings.users_file == files["users.yaml"]


def test_users_file_from_environment_and_cfg(tmp_path: Path, files: dict[str, Path]) -> None:
    cfg = write_cfg(tmp_path, f"users_file = {files['b.pem']}")
    base = ["--iss", ISSUER, "--config", str(cfg)]
    assert load(base).users_file == files["b.pem"]
    environ = {"KONNECTD_USERS_FILE": str(files["users.yaml"])}
    assert load(base, environ).users_file == files["users.yaml"]
    assert load([*base, "users", str(files["a.pem"])], environ).users_file == files["a.pem"]


def test_users_manager_needs_a_users_file() -> None:
    [problem] = problems_of(["--iss", ISSUER])
    assert problem.startswith("identity manager 'users' needs a users file")


def test_kc_manager_is_explained() -> None:
    [problem] = problems_of(["--iss", ISSUER, "kc"])
    assert "Kopano Groupware backend is not available in konnect" in problem


def test_unknown_manager_lists_the_valid_ones() -> None:
    assert problems_of(["--iss", ISSUER, "saml"]) == [
        "identity manager 'saml' is unknown; use one of users, ldap, cookie, dummy"
    ]


def test_managers_without_arguments_refuse_extra_ones() -> None:
    [problem] = problems_of(["--iss", ISSUER, "ldap", "extra"])
    assert problem == "identity manager 'ldap' takes no arguments, got: extra"


def test_cfg_manager_arguments_are_shell_split(tmp_path: Path) -> None:
    cfg = write_cfg(
        tmp_path,
        "identity_manager = cookie",
        "identity_manager_args = http://127.0.0.1:8080/auth 'session other'",
    )
    settings = load(["--iss", ISSUER, "--config", str(cfg)])
    assert settings.identity_manager == "cookie"
    assert settings.identity_manager_args == ("http://127.0.0.1:8080/auth", "session other")


def test_command_line_manager_replaces_the_cfg_one(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "identity_manager = cookie", "identity_manager_args = http://b x")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    assert (settings.identity_manager, settings.identity_manager_args) == ("ldap", ())


def test_cookie_manager_needs_a_backend_url() -> None:
    [problem] = problems_of(["--iss", ISSUER, "cookie", "not-a-url"])
    assert problem.startswith("identity manager 'cookie' expects")


# -- backend environment ------------------------------------------------------------------


def test_ldap_cfg_keys_become_ldap_variables_and_environment_wins(tmp_path: Path) -> None:
    cfg = write_cfg(
        tmp_path,
        "identity_manager = ldap",
        "ldap_uri = ldap://cfg.example.com",
        "ldap_binddn = cn=konnect,dc=example,dc=com",
        "ldap_basedn = dc=example,dc=com",
        "ldap_filter = (objectClass=person)",
        "ldap_email_attribute = mailPrimaryAddress",
        "LDAP_SCOPE = one",
    )
    environ = {
        "LDAP_URI": "ldaps://env.example.com",
        "KOPANO_SERVER_DEFAULT_URI": "file:///run/kopano/server.sock",
        "COOKIE_NAME": "x",
        "HOME": "/root",
        "KONNECTD_LISTEN": "127.0.0.1:9",
    }
    settings = load(["--iss", ISSUER, "--config", str(cfg)], environ)
    assert settings.warnings == ()
    assert dict(settings.backend_env) == {
        "COOKIE_NAME": "x",
        "KOPANO_SERVER_DEFAULT_URI": "file:///run/kopano/server.sock",
        "LDAP_BASEDN": "dc=example,dc=com",
        "LDAP_BINDDN": "cn=konnect,dc=example,dc=com",
        "LDAP_EMAIL_ATTRIBUTE": "mailPrimaryAddress",
        "LDAP_FILTER": "(objectClass=person)",
        "LDAP_SCOPE": "one",
        "LDAP_URI": "ldaps://env.example.com",
    }


def test_backend_env_is_read_only() -> None:
    settings = load(["--iss", ISSUER, "ldap"], {"LDAP_URI": "ldap://x"})
    with pytest.raises(TypeError):
        settings.backend_env["LDAP_URI"] = "ldap://y"  # type: ignore[index]


# -- the same settings from every source --------------------------------------------------


def test_equivalent_cfg_and_flags_give_the_same_settings(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    webapp = tmp_path / "webapp"
    webapp.mkdir()
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg/>", encoding="utf-8")
    cfg = write_cfg(
        tmp_path,
        f"oidc_issuer_identifier = {ISSUER}",
        "listen = 0.0.0.0:8000",
        f"signing_private_key = {files['a.pem']} {files['b.pem']}",
        "signing_kid = k1",
        "signing_method = ES256",
        f"validation_keys_path = {files['keys']}",
        f"encryption_secret_key = {files['secret.key']}",
        f"identifier_registration_conf = {files['registry.yaml']}",
        f"identifier_scopes_conf = {files['scopes.yaml']}",
        f"jitsi_conf = {files['scopes.yaml']}",
        "uri_base_path = /idp",
        "sign_in_uri = https://login.example.com/",
        "signed_out_uri = /bye",
        "authorization_endpoint_uri = https://idp.example.com/konnect/v1/authorize",
        "endsession_endpoint_uri = /konnect/v1/endsession",
        "disable_identifier_client = yes",
        f"web_resources_path = {webapp}",
        "trusted_proxies = 10.0.0.1 10.1.0.0/16",
        "forwarded_user_sign_in = yes",
        "outgoing_allowed_networks = 10.2.0.0/16 fd00::/8",
        "allowed_scopes = openid profile",
        "access_token_expiration = 60",
        "id_token_expiration = 120",
        "refresh_token_expiration = 3600",
        "refresh_token_reuse_interval = 5",
        "userinfo_revocation_check = available",
        "dynamic_client_secret_expiration = 86400",
        "acr_alias = gold=https://refeds.org/profile/mfa top=phr",
        "session_max_age = 7200",
        "session_idle_timeout = 600",
        "sign_in_attempts_per_user = 5",
        "sign_in_attempts_per_address = 50",
        "allow_client_guests = true",
        "guest_access_token_expiration = 90",
        "guest_id_token_expiration = 91",
        "guest_request_object_require_exp_jti = yes",
        "allow_dynamic_client_registration = 1",
        "allow_issuer_host_clients = yes",
        "log_level = DEBUG",
        "log_format = json",
        "audit_log = syslog",
        "with_metrics = yes",
        "metrics_listen = 127.0.0.1:9100",
        "insecure = yes",
        "cookie_backend_timeout = 5",
        "state_store = redis://127.0.0.1:6379/2",
        "data_dir = /srv/konnect",
        "workers = 3",
        "shutdown_timeout = 20",
        "identity_manager = users",
        f"identity_manager_args = {files['users.yaml']}",
        "branding_product_name = Acme",
        f"branding_logo = {logo}",
        "branding_accent_color = #0A7F5A",
        "branding_background = https://img.example.com/bg.jpg",
        "mfa = required",
        "mfa_methods = totp",
        "mfa_required_groups = admins ops",
        "mfa_max_age = 600",
        "mfa_enrolment = admin_only",
        f"mfa_key = {files['secret.key']}",
        f"mfa_previous_key = {files['a.pem']}",
        "mfa_satisfied_by = forwarded_user cookie",
        "credential_store = sqlite:/srv/konnect/mfa.db",
        "webauthn_rp_id = example.com",
        "webauthn_origins = https://example.com https://login.example.com",
    )
    from_cfg = load(["--config", str(cfg)])
    from_flags = load(
        [
            "--iss", ISSUER,
            "--listen", "0.0.0.0:8000",
            "--signing-private-key", str(files["a.pem"]),
            "--signing-private-key", str(files["b.pem"]),
            "--signing-kid", "k1",
            "--signing-method", "ES256",
            "--validation-keys-path", str(files["keys"]),
            "--encryption-secret", str(files["secret.key"]),
            "--identifier-registration-conf", str(files["registry.yaml"]),
            "--identifier-scopes-conf", str(files["scopes.yaml"]),
            "--jitsi-conf", str(files["scopes.yaml"]),
            "--uri-base-path", "/idp/",
            "--sign-in-uri", "https://login.example.com/",
            "--signed-out-uri", "/bye",
            "--authorization-endpoint-uri", "/konnect/v1/authorize",
            "--endsession-endpoint-uri", "https://idp.example.com/konnect/v1/endsession",
            "--disable-identifier-client",
            "--identifier-client-path", str(webapp),
            "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "10.1.0.0/16",
            "--forwarded-user-sign-in",
            "--allow-outgoing-network", "10.2.0.0/16", "--allow-outgoing-network", "fd00::/8",
            "--allow-scope", "openid", "--allow-scope", "profile",
            "--access-token-expiration", "60",
            "--id-token-expiration", "120",
            "--refresh-token-expiration", "3600",
            "--refresh-token-reuse-interval", "5",
            "--userinfo-revocation-check", "available",
            "--dynamic-client-secret-expiration", "86400",
            "--acr-alias", "gold=https://refeds.org/profile/mfa", "--acr-alias", "top=phr",
            "--session-max-age", "7200",
            "--session-idle-timeout", "600",
            "--sign-in-attempts-per-user", "5",
            "--sign-in-attempts-per-address", "50",
            "--allow-client-guests",
            "--guest-access-token-expiration", "90",
            "--guest-id-token-expiration", "91",
            "--guest-request-object-require-exp-jti",
            "--allow-dynamic-client-registration",
            "--allow-issuer-host-clients",
            "--log-level", "debug",
            "--log-format", "json",
            "--audit-log", "syslog",
            "--with-metrics",
            "--metrics-listen", "127.0.0.1:9100",
            "--insecure",
            "--cookie-backend-timeout", "5",
            "--state-store", "redis://127.0.0.1:6379/2",
            "--data-dir", "/srv/konnect",
            "--workers", "3",
            "--shutdown-timeout", "20",
            "--branding-product-name", "Acme",
            "--branding-logo", str(logo),
            "--branding-accent-color", "#0a7f5a",
            "--branding-background", "https://img.example.com/bg.jpg",
            "--mfa", "required",
            "--mfa-method", "totp",
            "--mfa-required-group", "admins", "--mfa-required-group", "ops",
            "--mfa-max-age", "600",
            "--mfa-enrolment", "admin_only",
            "--mfa-key", str(files["secret.key"]),
            "--mfa-previous-key", str(files["a.pem"]),
            "--mfa-satisfied-by", "forwarded_user", "--mfa-satisfied-by", "cookie",
            "--webauthn-rp-id", "example.com",
            "--webauthn-origin", "https://example.com",
            "--webauthn-origin", "https://login.example.com",
            "--credential-store", "sqlite:/srv/konnect/mfa.db",
            "users", str(files["users.yaml"]),
        ]
    )  # fmt: skip
    assert from_cfg == from_flags
    defaults = Settings(issuer=ISSUER)
    unchanged = [
        item.name
        for item in dataclasses.fields(Settings)
        if getattr(from_cfg, item.name) == getattr(defaults, item.name)
    ]
    # Every other setting was given a non-default value, so the comparison covers them.
    assert unchanged == ["issuer", "identity_manager", "backend_env", "warnings"]
    assert from_cfg.log_level == "debug"


def test_settings_are_frozen_and_hashable() -> None:
    settings = load(["--iss", ISSUER, "ldap"], {"LDAP_URI": "ldap://x"})
    assert hash(settings) == hash(load(["--iss", ISSUER, "ldap"], {"LDAP_URI": "ldap://x"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.issuer = "https://other.example.com"  # type: ignore[misc]


def test_forwarded_user_sign_in_needs_trusted_proxies(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "forwarded_user_sign_in = yes")
    with pytest.raises(ConfigError) as caught:
        load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    [problem] = caught.value.problems
    assert "forwarded_user_sign_in" in problem
    assert "trusted_proxies" in problem


def test_trusted_proxies_alone_leave_forwarded_user_sign_in_off(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, "trusted_proxies = 10.0.0.1")
    settings = load(["--iss", ISSUER, "--config", str(cfg), "ldap"])
    assert settings.trusted_proxies == ("10.0.0.1",)
    assert settings.forwarded_user_sign_in is False


def test_acr_aliases_name_a_level_once() -> None:
    mfa = "https://refeds.org/profile/mfa"

    def aliases(*words: str) -> list[str]:
        return [arg for word in words for arg in ("--acr-alias", word)]

    loaded = load(["--iss", ISSUER, *aliases(f"gold={mfa}", "top=phr"), "dummy"])
    assert loaded.acr_aliases == (f"gold={mfa}", "top=phr")
    for wrong in ("gold", "gold=urn:loa:2", "=phr"):
        expected = f"expected NAME=LEVEL with LEVEL one of https://refeds.org/profile/sfa, {mfa}"
        assert problems_of(["--iss", ISSUER, *aliases(wrong), "dummy"]) == [
            f"--acr-alias: {expected}, phr, got '{wrong}'"
        ]
    for twice in ((f"{mfa}={mfa}",), ("a=phr", "a=phr")):
        name = twice[0].partition("=")[0]
        assert problems_of(["--iss", ISSUER, *aliases(*twice), "dummy"]) == [
            f"--acr-alias: acr alias '{name}' is a level or named twice"
        ]
