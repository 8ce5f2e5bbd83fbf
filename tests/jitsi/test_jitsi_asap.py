"""The ASAP key server and key rotation, as Jitsi's prosody uses them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import RunningServer, free_port
from tests.jitsi.conftest import ASAP_URL, JitsiSite, SignedIn, follow_login, token_of
from tests.jitsi.prosody_rules import Prosody, ProsodyConfig


def pem_name(kid: str) -> str:
    return hashlib.sha256(kid.encode()).hexdigest() + ".pem"


def spki(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def new_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def classes_prosody(base_url: str) -> Prosody:
    return Prosody(
        ProsodyConfig(
            app_id="classes",
            asap_key_server=base_url + "/jitsi/asap",
            accepted_issuers=(base_url,),
        )
    )


def test_key_server_serves_each_rsa_key_by_the_hash_of_its_kid(
    jitsi_site: JitsiSite, key_dir: Path
) -> None:
    answer = httpx.get(f"{jitsi_site.url}/jitsi/asap/{pem_name('rsa-key')}")
    assert answer.status_code == 200
    assert answer.text.startswith("-----BEGIN PUBLIC KEY-----\n")
    private = serialization.load_pem_private_key((key_dir / "rsa-key.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert answer.content == spki(private)
    # The active signer is also published as "default".
    assert httpx.get(f"{jitsi_site.url}/jitsi/asap/{pem_name('default')}").content == spki(private)


@pytest.mark.parametrize(
    "name",
    [
        pem_name("unknown"),
        pem_name("rsa-key").upper().replace(".PEM", ".pem"),
        pem_name("rsa-key")[:-4],
        "rsa-key.pem",
        "..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_unknown_key_names_are_404(jitsi_site: JitsiSite, name: str) -> None:
    assert httpx.get(f"{jitsi_site.url}/jitsi/asap/{name}").status_code == 404


def test_rotation_new_kid_verifies_and_old_tokens_keep_verifying(
    server_factory: Callable[..., RunningServer],
    jitsi_folder: Path,
    key_dir: Path,
    tmp_path: Path,
    signed_in: SignedIn,
) -> None:
    port = free_port()
    common = {"jitsi_conf": jitsi_folder / "jitsi.yaml", "users_file": jitsi_folder / "users.yaml"}
    before = server_factory(port=port, signing_kid="key-2025", **common)
    client = signed_in(before.url, "erika")
    old_token = token_of(follow_login(client, "room=r&server=classes"), ASAP_URL, "r")
    prosody = classes_prosody(before.url)
    prosody.connect(old_token)
    before.stop()

    # Rotation: a new signing key under a new kid; the old one stays as a validation key.
    old_public = tmp_path / "validation"
    old_public.mkdir()
    private = serialization.load_pem_private_key((key_dir / "rsa-key.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    (old_public / "key-2025.pem").write_bytes(spki(private))
    new_rsa_key(tmp_path / "new.pem")
    after = server_factory(
        port=port,
        signing_private_keys=(tmp_path / "new.pem",),
        signing_kid="key-2026",
        validation_keys_path=old_public,
        **common,
    )
    client = signed_in(after.url, "erika")
    new_token = token_of(follow_login(client, "room=r&server=classes"), ASAP_URL, "r")
    prosody.connect(new_token)
    prosody.connect(old_token)
    assert [url.rsplit("/", 1)[1] for url in prosody.key_fetches] == [
        pem_name("key-2025"),
        pem_name("key-2026"),
    ]
    # A prosody that never saw the old key still gets it from konnect.
    classes_prosody(after.url).connect(old_token)
