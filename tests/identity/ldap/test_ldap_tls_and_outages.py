"""TLS (StartTLS, LDAPS, host name checks) and failure handling against real slapd processes:
failover to a second URI, a directory stopped mid-run, a stuck directory, recovery."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import pytest

from konnect.identity import BackendUnavailable, User
from konnect.identity.ldap import LdapBackend, load_ldap_settings
from tests.identity.ldap.conftest import ldap_env
from tests.identity.ldap.slapd import PASSWORD, Slapd, free_port
from tests.identity.ldap.test_ldap_backend import logon, run

UNAVAILABLE_LOG = "LDAP directory unavailable"


def starttls_env(slapd: Slapd, host: str = "localhost", **env: str) -> dict[str, str]:
    return {
        "LDAP_URI": f"ldap://{host}:{slapd.port}",
        "LDAP_STARTTLS": "yes",
        "LDAP_TLS_CA_FILE": str(slapd.pki.ca_file),
        **env,
    }


def test_starttls_with_the_ca_file(slapd: Slapd) -> None:
    assert logon(slapd, "jonas", **starttls_env(slapd)) is not None


def test_ldaps_with_the_ca_file(slapd: Slapd) -> None:
    env = {"LDAP_URI": slapd.ldaps_url, "LDAP_TLS_CA_FILE": str(slapd.pki.ca_file)}
    assert logon(slapd, "jonas", **env) is not None


@pytest.mark.parametrize("scheme", ["starttls", "ldaps"])
def test_certificates_are_verified_unless_insecure(slapd: Slapd, scheme: str) -> None:
    if scheme == "starttls":
        wrong_name = starttls_env(slapd, host="127.0.0.1")
        unknown_ca = starttls_env(slapd, LDAP_TLS_CA_FILE="")
    else:
        ca = str(slapd.pki.ca_file)
        wrong_name = {"LDAP_URI": f"ldaps://127.0.0.1:{slapd.tls_port}", "LDAP_TLS_CA_FILE": ca}
        unknown_ca = {"LDAP_URI": slapd.ldaps_url}
    for env in (wrong_name, unknown_ca):
        with pytest.raises(BackendUnavailable):
            logon(slapd, "jonas", **env)
        insecure = LdapBackend(load_ldap_settings(ldap_env(slapd, **env), insecure=True))
        assert run(insecure, lambda ldap: ldap.logon("jonas", PASSWORD)) is not None


def test_failover_to_the_second_uri(slapd: Slapd) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    assert logon(slapd, "jonas", LDAP_URI=f"{dead} {slapd.url}") is not None


def test_all_uris_down_is_unavailable_not_wrong_password() -> None:
    env = {
        "LDAP_URI": f"ldap://127.0.0.1:{free_port()} ldap://127.0.0.1:{free_port()}",
        "LDAP_BASEDN": "dc=example,dc=com",
    }
    ldap = LdapBackend(load_ldap_settings(env))
    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1"):
        run(ldap, lambda ldap: ldap.logon("jonas", PASSWORD))


async def attempt(ldap: LdapBackend) -> User | str | None:
    try:
        return await ldap.logon("jonas", PASSWORD)
    except BackendUnavailable:
        return "unavailable"


def test_directory_stopped_mid_run_fails_fast_logs_once_and_recovers(
    own_slapd: Slapd, caplog: pytest.LogCaptureFixture
) -> None:
    ldap = LdapBackend(load_ldap_settings(ldap_env(own_slapd)))

    async def scenario() -> None:
        first = await attempt(ldap)
        assert isinstance(first, User)
        await asyncio.to_thread(own_slapd.stop)
        started = time.monotonic()
        during = [await attempt(ldap) for _ in range(3)]
        during += await asyncio.gather(*(attempt(ldap) for _ in range(5)))
        assert time.monotonic() - started < 5
        assert during == ["unavailable"] * 8
        with pytest.raises(BackendUnavailable):
            await ldap.lookup("uid=jonas,ou=users,dc=example,dc=com")
        await asyncio.to_thread(own_slapd.start)
        after = await attempt(ldap)
        assert isinstance(after, User)
        assert await ldap.lookup(after.subject) == after
        await ldap.close()

    with caplog.at_level(logging.INFO, logger="konnect.identity.ldap"):
        asyncio.run(scenario())
    messages = [record.getMessage() for record in caplog.records]
    assert sum(UNAVAILABLE_LOG in message for message in messages) == 1
    assert any("Connection refused" in message or "refused" in message for message in messages)
    assert messages[-1] == "LDAP directory available again"


def test_a_stuck_directory_holds_no_request_beyond_the_timeouts(own_slapd: Slapd) -> None:
    env = ldap_env(own_slapd, LDAP_TIMEOUT="1", LDAP_CONNECT_TIMEOUT="1", LDAP_POOL_SIZE="2")
    ldap = LdapBackend(load_ldap_settings(env))

    async def scenario() -> None:
        assert isinstance(await attempt(ldap), User)
        own_slapd.freeze()
        started = time.monotonic()
        results = await asyncio.gather(*(attempt(ldap) for _ in range(6)))
        elapsed = time.monotonic() - started
        assert results == ["unavailable"] * 6
        assert elapsed < 6, elapsed
        own_slapd.thaw_if_frozen()
        assert isinstance(await attempt(ldap), User)
        await ldap.close()

    asyncio.run(scenario())


def test_a_server_answering_garbage_is_unavailable_not_a_crash() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x30\x84\xff\xff\xff\xff not ldap at all")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    env = {"LDAP_URI": f"ldap://127.0.0.1:{port}", "LDAP_BASEDN": "dc=example,dc=com"}
    env |= {"LDAP_BINDDN": "cn=x", "LDAP_BINDPW": "y", "LDAP_TIMEOUT": "1"}
    try:
        with pytest.raises(BackendUnavailable):
            run(LdapBackend(load_ldap_settings(env)), lambda ldap: ldap.logon("jonas", PASSWORD))
        without_service_account = {**env, "LDAP_BINDDN": "", "LDAP_BINDPW": ""}
        settings = load_ldap_settings({k: v for k, v in without_service_account.items() if v})
        with pytest.raises(BackendUnavailable):
            run(LdapBackend(settings), lambda ldap: ldap.logon("jonas", PASSWORD))
    finally:
        listener.close()
        thread.join(timeout=5)
