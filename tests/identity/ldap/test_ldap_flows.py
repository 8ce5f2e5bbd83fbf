"""konnect serving `ldap` against slapd: the identifier API, a relying-party code flow with
refresh and userinfo, subjects as Konnect computes them, outages as 503, deleted users."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from types import MappingProxyType

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from konnect.crypto import public_subject
from tests.conftest import RunningServer, api_headers, browser
from tests.flows.test_relying_party_flow import (
    discovery,
    relying_party,
    validate_id_token,
)
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import PASSWORD, Slapd

JONAS_DN = "uid=jonas,ou=users,dc=example,dc=com"
REDIRECT_URI = "http://127.0.0.1:9999/cb"


@pytest.fixture
def ldap_server(
    server_factory: Callable[..., RunningServer],
) -> Callable[..., RunningServer]:
    def start(directory: Slapd, **env: str) -> RunningServer:
        return server_factory(
            identity_manager="ldap",
            users_file=None,
            backend_env=MappingProxyType(ldap_env(directory, **env)),
        )

    return start


def logon(client: httpx.Client, base_url: str, username: str, password: str) -> httpx.Response:
    return client.post(
        "/signin/v1/identifier/_/logon",
        json={"state": "s1", "params": [username, password, "1"], "hello": None},
        headers=api_headers(base_url),
    )


def test_identifier_api_sign_in(slapd: Slapd, ldap_server: Callable[..., RunningServer]) -> None:
    server = ldap_server(slapd)
    with browser(server.url) as client:
        signed_in = logon(client, server.url, "jonas", PASSWORD)
        assert signed_in.status_code == 200
        assert signed_in.json()["success"] is True
        assert signed_in.cookies
        wrong = logon(client, server.url, "jonas", "wrong")
        unknown = logon(client, server.url, "ghost", PASSWORD)
        disabled = logon(client, server.url, "timmothy", PASSWORD)
        injected = logon(client, server.url, "*", PASSWORD)
    answers = {(r.status_code, r.content, tuple(r.cookies.keys())) for r in (wrong, unknown)}
    answers |= {(r.status_code, r.content, tuple(r.cookies.keys())) for r in (disabled, injected)}
    assert len(answers) == 1
    assert wrong.status_code == 204


def sign_in_and_get_tokens(server: RunningServer, username: str = "jonas") -> dict[str, str]:
    meta = discovery(server)
    rp = relying_party()
    rp.scope = "openid profile email offline_access groups"
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    with browser(server.url) as client:
        assert client.get(url).status_code == 302
        assert logon(client, server.url, username, PASSWORD).status_code == 200
        done = client.get(url + "&prompt=none")
        assert done.status_code == 302, done.text
        # As the relying party's server receives it: browsers never send the fragment.
        callback = done.headers["location"].partition("#")[0]
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    token["_nonce"] = nonce
    return dict(token)


def test_relying_party_flow_with_konnect_subjects(
    slapd: Slapd, ldap_server: Callable[..., RunningServer]
) -> None:
    server = ldap_server(slapd, LDAP_GROUPS="memberof")
    token = sign_in_and_get_tokens(server)
    claims = validate_id_token(server, token["id_token"], token["_nonce"])
    konnect_sub = (
        "N5-buqYpu9ipkNdmfe4gbQlTqxVVRTt0FicoXLTAwYTq3flmr2MtzVKnDOQayIjzKSoTUsnkQf90GzGm_0bqAA"
        "@konnect"
    )
    assert claims["sub"] == konnect_sub == public_subject(JONAS_DN, "identifier-ldap")
    meta = discovery(server)
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    access = jwt.decode(token["access_token"], keys, algorithms=["PS256"]).claims
    assert access["sub"] == konnect_sub
    assert access["kc.provider"] == "identifier-ldap"
    assert access["kc.identity"] == {
        "kc.i.id": JONAS_DN,
        "kc.i.un": "jonas",
        "kc.i.dn": "Jonas Brekke",
    }
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    userinfo = httpx.get(meta["userinfo_endpoint"], headers=auth).json()
    assert userinfo["sub"] == konnect_sub
    assert userinfo["email"] == "jonas@example.com"
    assert userinfo["email_verified"] is False
    assert userinfo["groups"] == ["staff"]


def refresh(server: RunningServer, refresh_token: str) -> httpx.Response:
    return httpx.post(
        discovery(server)["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("trusted-app", "trusted-secret"),
    )


def test_changes_show_in_new_tokens_and_deleted_users_cannot_refresh(
    own_slapd: Slapd, ldap_server: Callable[..., RunningServer]
) -> None:
    own_slapd.ldapmodify(
        "dn: uid=leaver,ou=users,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: leaver\n"
        f"cn: Lea Ver\nsn: Ver\nmail: lea@example.com\nuserPassword: {PASSWORD}\n",
        add=True,
    )
    server = ldap_server(own_slapd)
    token = sign_in_and_get_tokens(server, "leaver")
    dn = "uid=leaver,ou=users,dc=example,dc=com"
    own_slapd.ldapmodify(f"dn: {dn}\nchangetype: modify\nreplace: mail\nmail: new@example.com\n")
    refreshed = refresh(server, token["refresh_token"])
    assert refreshed.status_code == 200
    userinfo_url = discovery(server)["userinfo_endpoint"]
    bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert httpx.get(userinfo_url, headers=bearer).json()["email"] == "new@example.com"

    own_slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n")
    gone = refresh(server, refreshed.json()["refresh_token"])
    assert gone.status_code == 400
    assert gone.json()["error"] == "invalid_grant"
    assert httpx.get(userinfo_url, headers=bearer).status_code == 401


def test_directory_down_is_503_logged_once_and_recovers(
    own_slapd: Slapd, ldap_server: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = ldap_server(own_slapd)
    token = sign_in_and_get_tokens(server)
    userinfo_url = discovery(server)["userinfo_endpoint"]
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    own_slapd.stop()
    caplog.set_level(logging.WARNING)
    with browser(server.url) as client:
        for _ in range(3):
            down = logon(client, server.url, "jonas", PASSWORD)
            assert down.status_code == 503
            assert "temporarily" in down.text
            assert "127.0.0.1" not in down.text
    assert httpx.get(userinfo_url, headers=bearer).status_code == 503
    assert refresh(server, token["refresh_token"]).status_code == 503
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1, warnings
    assert "Connection refused" in warnings[0]
    own_slapd.start()
    with browser(server.url) as client:
        assert logon(client, server.url, "jonas", PASSWORD).status_code == 200
    assert httpx.get(userinfo_url, headers=bearer).status_code == 200
    assert refresh(server, token["refresh_token"]).status_code == 200


def test_a_stuck_directory_does_not_stall_the_server(
    own_slapd: Slapd, ldap_server: Callable[..., RunningServer]
) -> None:
    server = ldap_server(own_slapd, LDAP_TIMEOUT="2", LDAP_POOL_SIZE="2")
    with browser(server.url) as client:
        assert logon(client, server.url, "jonas", PASSWORD).status_code == 200
    own_slapd.freeze()
    results: list[int] = []

    def sign_in_while_stuck() -> None:
        with browser(server.url) as client:
            results.append(logon(client, server.url, "jonas", PASSWORD).status_code)

    waiting = [threading.Thread(target=sign_in_while_stuck) for _ in range(4)]
    started = time.monotonic()
    for thread in waiting:
        thread.start()
    time.sleep(0.3)
    quick = time.monotonic()
    assert httpx.get(server.url + "/.well-known/openid-configuration").status_code == 200
    assert httpx.get(server.url + "/health-check").status_code == 200
    assert time.monotonic() - quick < 1
    for thread in waiting:
        thread.join(timeout=20)
    assert results == [503] * 4
    assert time.monotonic() - started < 10
    own_slapd.thaw_if_frozen()
    with browser(server.url) as client:
        assert logon(client, server.url, "jonas", PASSWORD).status_code == 200
