"""A konnect whose registry names a SAML identity provider (pysaml2's IdP in a process of its
own on loopback, `saml_idp`), and the steps of a sign-in through it over HTTP."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.authorities.conftest import follow
from tests.authorities.saml_idp import IdentityProvider, form_fields, write_key_pair
from tests.conftest import RunningServer, free_port, require
from tests.flows.test_bad_input import good_params

ROOT = Path(__file__).resolve().parents[2]
SIGNIN = "/signin/v1/identifier"
METADATA = SIGNIN + "/saml2/metadata"
ACS = SIGNIN + "/saml2/acs"
SLO = SIGNIN + "/_/saml2/slo"
AUTHORIZE = SIGNIN + "/_/authorize"


@dataclass
class SamlIdp:
    """The identity provider process, and its key folder (shared with `in_process`)."""

    port: int
    folder: Path
    sp_metadata_url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metadata_url(self) -> str:
        return self.url + "/metadata"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "tests.authorities.saml_idp"]
        self.process = subprocess.Popen(
            [*command, str(self.port), self.sp_metadata_url, str(self.folder)], cwd=ROOT, env=env
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.metadata_url).is_success:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the SAML identity provider did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def in_process(self, folder: Path | None = None) -> IdentityProvider:
        """The same identity provider in the test's process (another key with `folder`),
        to make answers a correct one would not."""
        sp_metadata = httpx.get(self.sp_metadata_url).raise_for_status().text
        return IdentityProvider(self.url, folder or self.folder, sp_metadata)


@dataclass
class SamlFederation:
    konnect: RunningServer
    idp: SamlIdp


def saml_entry(idp: SamlIdp, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "campus",
        "name": "Campus",
        "authority_type": "saml2",
        "metadata_endpoint": idp.metadata_url,
        "insecure": True,
        "default": True,
        "end_session_enabled": True,
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.fixture
def saml_factory(
    server_factory: Callable[..., RunningServer], config_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., SamlFederation]]:
    """Starts a konnect with the authorities `entries(idp)` returns, then the IdP."""
    require(shutil.which("xmlsec1") is not None, "xmlsec1 is not installed")
    started: list[SamlIdp] = []

    def start(
        entries: Callable[[SamlIdp], list[dict[str, object]]] = lambda idp: [saml_entry(idp)],
        start_idp: bool = True,
        **changes: object,
    ) -> SamlFederation:
        port = free_port()
        idp = SamlIdp(free_port(), tmp_path / "idp", f"http://127.0.0.1:{port}{METADATA}")
        write_key_pair(idp.folder)
        registry = config_dir / "registry.yaml"
        section = json.dumps({"authorities": entries(idp)})
        registry.write_text(registry.read_text() + "\n" + section.removeprefix("{")[:-1] + "\n")
        konnect = server_factory(port=port, **changes)
        started.append(idp)
        if start_idp:
            idp.start()
        return SamlFederation(konnect, idp)

    yield start
    for idp in started:
        idp.stop()


def to_idp(client: httpx.Client, federation: SamlFederation, **params: str) -> str:
    """From the relying party's authorization request to the IdP's sign-in URL."""
    response = client.get(AUTHORIZE + "?" + urlencode(good_params(**params)))
    location = str(response.url.join(response.headers["location"]))
    return follow(client, location, federation.idp.url + "/sso")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def answer_from_idp(sso_url: str) -> tuple[str, dict[str, str]]:
    """The IdP process's answer page, read as the browser would submit it."""
    page = httpx.get(sso_url)
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def post_answer(client: httpx.Client, action: str, fields: dict[str, str]) -> httpx.Response:
    return client.post(action, data=fields)


def xml_of(saml_response: str) -> str:
    return base64.b64decode(saml_response).decode()


def b64(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()
