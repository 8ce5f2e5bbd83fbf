"""Fixtures of the conformance suite: one konnect per plan file, a fresh browser per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conformance.harness import Conformance, start_conformance
from tests.conformance.receiver import Receiver


@pytest.fixture(scope="module")
def conformance_settings() -> dict[str, Any]:
    """Settings a test file's konnect runs with beyond the harness's (override to change)."""
    return {}


@pytest.fixture(scope="module")
def conf(
    tmp_path_factory: pytest.TempPathFactory, conformance_settings: dict[str, Any]
) -> Iterator[Conformance]:
    request_objects = Receiver()
    folder = tmp_path_factory.mktemp("conformance")
    conformance, server = start_conformance(
        folder, request_objects=request_objects, **conformance_settings
    )
    yield conformance
    server.stop()
    request_objects.stop()


@pytest.fixture
def browser(conf: Conformance) -> Iterator[httpx.Client]:
    with conf.browser() as client:
        yield client
