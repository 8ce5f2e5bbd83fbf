"""SAML authorities in the registry: Konnect's keys and defaults, and their problems."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from konnect.authorities import read_authorities
from konnect.authorities.saml_upstream import SamlClient, ServiceProvider
from konnect.config.errors import ConfigError
from tests.authorities.saml_idp import IdentityProvider
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def test_a_konnect_saml_entry_is_read_with_its_defaults() -> None:
    (authority,) = read_authorities(
        [
            (
                "r.yaml:3",
                {
                    "id": "corporate-saml",
                    "name": "Corporate SAML",
                    "authority_type": "saml2",
                    "metadata_endpoint": "https://saml.example.com/metadata",
                },
            )
        ]
    )
    assert authority.saml
    assert authority.identity_claim_name == "uid"
    assert authority.entity_id == ""  # konnect's own metadata URL, filled in at startup
    assert authority.client_id == ""


def test_saml_problems_are_named() -> None:
    entries: list[tuple[str, dict[str, object]]] = [
        ("r.yaml:3", {"name": "a", "authority_type": "saml2"}),
        ("r.yaml:5", {"name": "b", "authority_type": "saml2", "iss": "http://idp.example.com"}),
        (
            "r.yaml:7",
            {
                "name": "c",
                "authority_type": "saml2",
                "iss": "https://idp.example.com",
                "entity_id": "not a uri",
            },
        ),
        ("r.yaml:9", {"name": "d", "authority_type": "saml3", "iss": "https://x.example"}),
    ]
    with pytest.raises(ConfigError) as caught:
        read_authorities(entries)
    assert caught.value.problems == [
        "r.yaml:3: authority 'a': metadata_endpoint (or iss) is required",
        "r.yaml:5: authority 'b': metadata_endpoint must be an https URL "
        "(http only with insecure: yes)",
        "r.yaml:7: authority 'c': entity_id must be a URI",
        "r.yaml:9: authority 'd': authority_type must be oidc or saml2",
    ]


def test_konnect_loads_the_saml_library_only_for_a_saml_authority() -> None:
    check = "import sys, konnect.http.app; print('saml2' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "False"


def test_iss_picks_the_identity_provider_of_a_federations_metadata(tmp_path: Path) -> None:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 is not installed")
    sp = ServiceProvider("https://konnect.example/metadata", "https://k.example/acs", "")
    documents = [
        IdentityProvider(f"https://idp{n}.example", tmp_path / str(n), None).metadata()
        for n in (1, 2)
    ]
    inner = "".join(re.sub(r"^<\?xml[^>]*>", "", document) for document in documents)
    federation = f'<EntitiesDescriptor xmlns="{MD}">{inner}</EntitiesDescriptor>'
    client = SamlClient(sp, federation, "https://idp2.example/metadata")
    assert client.idp_entity_id == "https://idp2.example/metadata"
    assert client.sso_url == "https://idp2.example/sso"
    with pytest.raises(ValueError, match="2 identity providers"):
        SamlClient(sp, federation, "https://idp3.example/metadata")
