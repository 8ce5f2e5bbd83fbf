"""Konnect's own configuration, as its packages install it, starts konnect unchanged.

The files follow Konnect's examples: the `konnectd.cfg` keys its systemd unit reads (with
the LDAP backend, since konnect has no Kopano Groupware backend), the registry template's
kinds of clients with Kopano Meet's guest client and an `authorities:` section, and the
scopes file example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from joserfc.jwk import ECKey

from tests.conftest import api_headers, browser, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
ISSUER = "https://idp.example.com"


def _registry(meet_key: str, app_key: str) -> str:
    return f"""---
# Clients, as in Konnect's identifier-registration.yaml template.
clients:
  - id: playground-trusted.js
    name: Trusted Insecure Playground
    application_type: web
    trusted: yes
    insecure: yes

  - id: playground.js
    name: OIDC Playground
    application_type: web
    redirect_uris:
      - https://my-host:8509/
    origins:
      - https://my-host:8509

  - id: client-with-keys
    secret: super
    application_type: native
    redirect_uris:
      - http://localhost
    trusted_scopes:
      - konnect/guestok
      - kopano/kwm
    jwks:
      keys:
        - {app_key}
    request_object_signing_alg: ES256

  - id: native-app
    name: Native app
    application_type: native
    redirect_uris:
      - my://app
      - http://localhost

  - id: kpop-https://meet.example.com/meet/
    name: Kopano Meet
    application_type: web
    trusted: yes
    redirect_uris: [https://meet.example.com/meet/]
    trusted_scopes: [konnect/guestok, kopano/kwm]
    request_object_signing_alg: ES256
    jwks:
      keys:
        - {meet_key}

authorities:
  - name: Upstream OIDC
    authority_type: oidc
    iss: https://upstream.example.com
    client_id: konnect
    client_secret: unused
    trusted: yes
    default: yes
    scopes: [openid, profile, email]
    identity_claim_name: preferred_username
  - id: corporate-saml
    name: Corporate SAML
    authority_type: saml2
    metadata_endpoint: https://saml.example.com/metadata
    identity_claim_name: uid
"""


SCOPES = """---
mapping:
  old-scope: custom-scope
scopes:
  custom-scope:
    description: "Human readable text for the consent screen"
    priority: 100
  kopano/kwm:
    description: "Access Kopano Meet"
"""


def _public_jwk(kid: str) -> str:
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}, private=False)
    return json.dumps(key.as_dict(private=False))


def _konnect_files(folder: Path, key_dir: Path, port: int) -> Path:
    """/etc/kopano as a Konnect installation leaves it; returns konnectd.cfg."""
    keys = folder / "konnectkeys"
    keys.mkdir()
    (keys / "konnect-20210101-ab12.pem").write_bytes((key_dir / "rsa-key.pem").read_bytes())
    (folder / "konnectd-signing-private-key.pem").symlink_to(keys / "konnect-20210101-ab12.pem")
    (folder / "konnectd-encryption-secret.key").write_bytes(os.urandom(32))
    registry = _registry(_public_jwk("meet-kwmserver"), _public_jwk("client-with-keys"))
    (folder / "konnectd-identifier-registration.yaml").write_text(registry)
    (folder / "konnectd-identifier-scopes.yaml").write_text(SCOPES)
    web = folder / "kopano-konnect"
    web.mkdir()
    (web / "identifier-webapp").symlink_to(ROOT / "konnect" / "identifier_ui")
    closed = free_port()
    cfg = folder / "konnectd.cfg"
    cfg.write_text(
        f"""##############################################################
# Kopano Konnect SETTINGS

oidc_issuer_identifier={ISSUER}
listen=127.0.0.1:{port}
insecure=no
identity_manager=ldap
signing_private_key={folder}/konnectd-signing-private-key.pem
#signing_kid=
signing_method=PS256
validation_keys_path={keys}
encryption_secret_key={folder}/konnectd-encryption-secret.key
identifier_registration_conf={folder}/konnectd-identifier-registration.yaml
identifier_scopes_conf={folder}/konnectd-identifier-scopes.yaml
web_resources_path={web}
uri_base_path=
allowed_scopes=
trusted_proxies=127.0.0.1
allow_client_guests=yes
allow_dynamic_client_registration=no
access_token_expiration=600
id_token_expiration=3600
refresh_token_expiration=94608000
identity_manager_args=
log_level=warn

# Kopano Groupware backend (kc)
kc_server_uri=file:///run/kopano/server.sock
#kc_session_timeout=

# LDAP backend (ldap)
ldap_uri=ldap://127.0.0.1:{closed}
ldap_binddn=cn=readonly,dc=example,dc=com
ldap_bindpw=readonly
ldap_basedn=dc=example,dc=com
ldap_scope=sub
ldap_login_attribute=uid
ldap_uuid_attribute=uidNumber
ldap_filter=(objectClass=inetOrgPerson)
"""
    )
    return cfg


def test_konnects_configuration_starts_unchanged(tmp_path: Path, key_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = _konnect_files(tmp_path, key_dir, port)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KONNECTD_", "LDAP_", "OIDC_"))
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "konnect", "serve", "--config", str(cfg)],
        env=env,
        stderr=subprocess.PIPE,
        cwd=tmp_path,  # the state file goes to the default data folder of the working directory
    )
    try:
        wait_until_healthy(url, process)
        discovery = httpx.get(url + "/.well-known/openid-configuration").json()
        assert discovery["issuer"] == ISSUER
        assert {"custom-scope", "kopano/kwm", "offline_access"} <= set(
            discovery["scopes_supported"]
        )
        jwks = httpx.get(url + "/konnect/v1/jwks.json").json()
        assert {"konnect-20210101-ab12", "default"} <= {key["kid"] for key in jwks["keys"]}
        with browser(url) as client:
            # trusted_proxies never took effect in Konnect; here it believes no sign-in
            # header either (the directory is down: looking the user up would answer 503).
            headers = {**api_headers(url), "X-Forwarded-User": "jonas"}
            hello = client.post(
                "/signin/v1/identifier/_/hello", json={"state": "s"}, headers=headers
            )
            assert hello.status_code == 204, hello.text
            # The default authority takes the sign-in; its provider (not reachable from
            # here) is temporarily unavailable, which the page shows.
            page = client.get("/signin/v1/identifier?flow=oidc")
            assert page.status_code == 302
            start = page.headers["location"]
            assert start.startswith("/signin/v1/identifier/oauth2/start?")
            unavailable = client.get(start)
            assert unavailable.status_code == 503
            assert "temporarily_unavailable" in unavailable.text
        # The SAML authority serves konnect's service provider metadata at Konnect's path.
        metadata = httpx.get(url + "/signin/v1/identifier/saml2/metadata")
        assert metadata.status_code == 200
        assert f'entityID="{ISSUER}/signin/v1/identifier/saml2/metadata"' in metadata.text
    finally:
        process.terminate()
        _, stderr_bytes = process.communicate(timeout=15)
    stderr = stderr_bytes.decode()
    assert "Traceback" not in stderr, stderr
    assert "authority 'Upstream OIDC' is ignored" not in stderr
    assert "authority 'corporate-saml' is ignored" not in stderr
    assert "unknown key 'kc_server_uri' ignored" in stderr
