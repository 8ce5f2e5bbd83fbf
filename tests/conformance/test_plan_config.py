"""Config OP (oidcc-config-certification-test-plan): the discovery document and JWKS."""

from __future__ import annotations

import pytest

from tests.conformance.discovery import oidcc_discovery_endpoint_verification
from tests.conformance.harness import Conformance

pytestmark = pytest.mark.conformance("oidcc-config-certification-test-plan")


def test_oidcc_discovery_endpoint_verification(conf: Conformance) -> None:
    meta = oidcc_discovery_endpoint_verification(conf.url, dynamic=False)
    assert meta == conf.meta
