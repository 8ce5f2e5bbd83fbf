"""`konnectd serve ... ldap` as a real process, configured with Konnect's LDAP_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import browser, free_port, wait_until_healthy
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import PASSWORD, Slapd
from tests.identity.ldap.test_ldap_flows import logon


def clean_environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KONNECTD_", "LDAP_", "OIDC_"))
    }
    env.update(extra)
    return env


def test_serve_ldap_signs_in_with_konnect_variables(
    slapd: Slapd, key_dir: Path, config_dir: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "konnect", "serve", "--iss", url, "--listen"]
    command += [f"127.0.0.1:{port}", "--signing-private-key", str(key_dir / "rsa-key.pem")]
    command += ["--identifier-registration-conf", str(config_dir / "registry.yaml")]
    command += ["--data-dir", str(config_dir / "data"), "ldap"]
    env = clean_environment(**ldap_env(slapd))
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        wait_until_healthy(url, process)
        with browser(url) as client:
            assert logon(client, url, "jonas", PASSWORD).status_code == 200
            assert logon(client, url, "jonas", "wrong").status_code == 204
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_serve_ldap_reports_every_missing_setting() -> None:
    command = [sys.executable, "-m", "konnect", "serve", "--iss", "http://127.0.0.1:1", "ldap"]
    env = clean_environment(LDAP_SCOPE="deep")
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    errors = done.stderr.decode()
    for name in ("LDAP_URI", "LDAP_BASEDN", "LDAP_SCOPE"):
        assert name in errors
    assert "Traceback" not in errors
