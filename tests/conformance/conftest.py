"""Fixtures of the conformance suite: one konnect per plan file, a fresh browser per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conformance.harness import Conformance, start_conformance


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    conformance, server = start_conformance(tmp_path_factory.mktemp("conformance"))
    yield conformance
    server.stop()


@pytest.fixture
def browser(conf: Conformance) -> Iterator[httpx.Client]:
    with conf.browser() as client:
        yield client
