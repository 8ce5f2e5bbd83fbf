"""Fixtures for the LDAP tests (the session's slapd lives one level up, shared with the
backend conformance tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.identity.ldap.slapd import (
    BASE_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Slapd,
    require_slapd,
)
from tests.pki import Pki


@pytest.fixture
def own_slapd(tmp_path: Path, pki: Pki) -> Iterator[Slapd]:
    """A slapd of this test alone, for stopping, freezing and restarting."""
    require_slapd()
    server = Slapd(tmp_path / "slapd", pki)
    server.start()
    server.load_fixture()
    yield server
    server.thaw_if_frozen()
    server.stop()


def ldap_env(server: Slapd, **changes: str) -> dict[str, str]:
    """LDAP_* settings for a server, as an administrator would write them."""
    env = {
        "LDAP_URI": server.url,
        "LDAP_BINDDN": SERVICE_DN,
        "LDAP_BINDPW": SERVICE_PASSWORD,
        "LDAP_BASEDN": BASE_DN,
        "LDAP_UUID_ATTRIBUTE": "entryUUID",
        "LDAP_TIMEOUT": "3",
        "LDAP_CONNECT_TIMEOUT": "2",
    }
    env.update(changes)
    return {key: value for key, value in env.items() if value != ""}
