"""Fixtures shared by the identity tests: one private slapd per session with the LDIF loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.identity.ldap.slapd import Slapd, require_slapd
from tests.pki import Pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("ldap-pki"))


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Slapd]:
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd"), pki)
    server.start()
    server.load_fixture()
    yield server
    server.stop()
