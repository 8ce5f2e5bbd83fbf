"""The Jitsi servers file: the example loads, problems are reported together at startup."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from konnect.config import load_settings
from konnect.config.errors import ConfigError
from konnect.config.model import Settings
from konnect.http.app import create_app
from konnect.jitsi.config import load_jitsi_servers
from tests.conftest import RunningServer
from tests.jitsi.conftest import SignedIn, follow_login, token_of

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://idp.example.com"


def write(folder: Path, text: str) -> Path:
    path = folder / "jitsi.yaml"
    path.write_text(text)
    return path


def test_the_example_file_loads(tmp_path: Path) -> None:
    shutil.copy(ROOT / "etc" / "jitsi.yaml", tmp_path / "jitsi.yaml")
    (tmp_path / "jitsi-meet.secret").write_bytes(b"s" * 32)
    config = load_jitsi_servers(tmp_path / "jitsi.yaml", ISSUER)
    server = config.servers["meet"]
    assert (server.app_id, server.audience, server.issuer) == ("konnect", "konnect", ISSUER)
    assert (server.alg, server.secret, server.lifetime) == ("HS256", b"s" * 32, 300)
    assert server.allowed_groups is None
    assert server.moderator_groups is None
    assert config.warnings == ()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "short.secret").write_text("short\n")
    path = write(
        tmp_path,
        """
jitsi:
  - id: a
    url: http://meet.example.com
    app_id: konnect
    secret_file: missing.secret
    lifetime: 0
    colour: blue
  - id: a
    url: https://meet.example.com/?x=1
    app_id: konnect
    asap: true
    secret_file: short.secret
  - id: c
    url: https://c.example.com
    app_id: konnect
    secret_file: short.secret
    alg: RS256
    moderator_groups: staff
    features: {staff: {recording: yes, teleport: true}}
  - url: https://d.example.com
""",
    )
    with pytest.raises(ConfigError) as raised:
        load_jitsi_servers(path, ISSUER)
    text = str(raised.value)
    for expected in (
        "jitsi[0] (a): unknown key 'colour'",
        "jitsi[0] (a): url 'http://meet.example.com' must be https://",
        "jitsi[0] (a): secret_file: cannot read",
        "jitsi[0] (a): 'lifetime' must be a number of seconds",
        "jitsi[1] (a): url 'https://meet.example.com/?x=1' must be an absolute URL",
        "jitsi[1] (a): set exactly one of 'secret_file'",
        "jitsi[2] (c): 'alg' must be one of HS256, HS384, HS512",
        "jitsi[2] (c): 'moderator_groups' must be a list of group names",
        "jitsi[2] (c): features 'staff': unknown feature teleport",
        "jitsi[3]: 'id' is required",
        "jitsi[3]: 'app_id' is required",
    ):
        assert expected in text


def test_a_weak_secret_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "short.secret").write_text("short\n")
    path = write(
        tmp_path,
        "jitsi:\n  - {id: a, url: 'https://m.example.com', app_id: k, secret_file: short.secret}\n",
    )
    config = load_jitsi_servers(path, ISSUER)
    assert config.servers["a"].secret == b"short"
    assert "shorter than 32 bytes" in config.warnings[0]


@pytest.mark.parametrize("text", ["", "jitsi: []\n", "jitsi: {id: a}\n", "[unclosed\n"])
def test_an_unusable_file_is_one_clear_problem(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"jitsi\.yaml"):
        load_jitsi_servers(write(tmp_path, text), ISSUER)


def test_asap_without_an_rsa_signing_key_stops_startup(
    tmp_path: Path, key_dir: Path, settings_factory: Callable[..., Settings]
) -> None:
    path = write(
        tmp_path, "jitsi:\n  - {id: a, url: 'https://m.example.com', app_id: k, asap: true}\n"
    )
    settings = settings_factory(
        8000,
        signing_private_keys=(key_dir / "ec-key.pem",),
        signing_method="ES256",
        jitsi_conf=path,
    )
    with pytest.raises(ConfigError, match="'asap: true' needs an RSA signing key"):
        create_app(settings)


def test_the_option_goes_by_flag_environment_and_cfg(tmp_path: Path) -> None:
    path = write(tmp_path, "jitsi: []\n")
    base = ["--iss", ISSUER, "dummy"]
    by_flag = load_settings([*base, "--jitsi-conf", str(path)], {})
    by_env = load_settings(base, {"KONNECTD_JITSI_CONF": str(path)})
    (tmp_path / "konnectd.cfg").write_text(f"jitsi_conf = {path}\n")
    by_cfg = load_settings([*base, "--config", str(tmp_path / "konnectd.cfg")], {})
    assert by_flag.jitsi_conf == by_env.jitsi_conf == by_cfg.jitsi_conf == path
    with pytest.raises(ConfigError, match="file not found"):
        load_settings([*base, "--jitsi-conf", str(tmp_path / "missing.yaml")], {})


def test_one_server_needs_no_server_parameter(
    server_factory: Callable[..., RunningServer], tmp_path: Path, signed_in: SignedIn
) -> None:
    (tmp_path / "s.secret").write_bytes(b"k" * 32)
    path = write(
        tmp_path,
        "jitsi:\n  - {id: only, url: 'https://meet.example.com/', app_id: k, "
        "secret_file: s.secret}\n",
    )
    server = server_factory(jitsi_conf=path)
    client = signed_in(server.url, "jonas")
    token_of(follow_login(client, "room=hello"), "https://meet.example.com", "hello")
    token_of(follow_login(client, "room=hello&server=only"), "https://meet.example.com", "hello")
