"""Konnect's derived values, bit for bit, and the sealing primitive."""

from __future__ import annotations

import multiprocessing
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from konnect.config.errors import ConfigError
from konnect.crypto import (
    Sealer,
    browser_state,
    consent_cookie_name,
    hash_password,
    load_secret,
    public_subject,
    random_string,
    session_state,
    verify_password,
)
from konnect.crypto.random import random_bytes

ISSUER = "https://konnect.example.com"
LDAP_DN = "uid=jonas,ou=users,dc=example,dc=com"


@pytest.mark.parametrize(
    ("raw", "tag", "expected"),
    [
        (
            LDAP_DN,
            "identifier-ldap",
            "N5-buqYpu9ipkNdmfe4gbQlTqxVVRTt0FicoXLTAwYTq3flmr2MtzVKnDOQayIjzKSoTUsnkQf90GzGm_0bqAA@konnect",
        ),
        (
            "dummy",
            "dummy",
            "8L_i0yTaPkLMGi_eEESB-3QZ2PKbAXWMUfDe4vuZ3OzY8voQGzz8kkA0L19lKG1YRFw3ooP1z_IoyBHwZ8YyoA@konnect",
        ),
        (
            "abc@1.kwmguest",
            "guest",
            "sXEb2bV_IVIxtpC-aDqslwfpiofk7dBl4Xl_MYql3FC0gpaDw3m-20hYQGZ8SvZOsdcnqmUU1oyn70Bu4s4ohg@konnect",
        ),
    ],
)
def test_public_subject_vectors(raw: str, tag: str, expected: str) -> None:
    assert public_subject(raw, tag) == expected


def test_browser_and_session_state_vectors() -> None:
    anonymous = browser_state(None, ISSUER)
    assert anonymous == "qXGYuNlP2X_CT8UiDR9Z5hUVxN9z_RPFzdDHS5xUiA8"
    signed_in = browser_state(public_subject(LDAP_DN, "identifier-ldap"), ISSUER)
    assert signed_in == "uOTGbBFl2XLM8uy5n66aCBjxp3Jy54Y4FR7RJa044-s"
    assert (
        session_state("client1", "https://rp.example.com", anonymous, "saltsaltsalt")
        == "45dc96263a7dfeb163d7b8a3ba8893aa3656a7d1a55b3aa2e4bd58aca7e82be9.saltsaltsalt"
    )


def test_consent_cookie_name_vector() -> None:
    name = consent_cookie_name(
        "__Secure-", "abc123", "client1", "https://rp.example.com/cb", "xyz", "n-0S6"
    )
    assert name == "__Secure-KKTC-oSqZhUvOdwdSmUYUaB2_oowZT8c4wbRwx7uYzjbIApA"


def test_sealing_round_trip_and_purpose_binding() -> None:
    sealer = Sealer(bytes(32))
    sealed = sealer.seal_json({"a": 1}, "one")
    assert sealer.open_json(sealed, "one") == {"a": 1}
    assert sealer.open_json(sealed, "two") is None
    assert Sealer(bytes([1] * 32)).open_json(sealed, "one") is None
    assert sealer.seal_json({"a": 1}, "one") != sealed


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "!!!!", "A" * 20_000, "é", "AQ", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
)
def test_opening_garbage_gives_none(garbage: str) -> None:
    assert Sealer(bytes(32)).open(garbage, "one") is None


def test_tampered_value_gives_none() -> None:
    sealer = Sealer(bytes(32))
    sealed = sealer.seal(b"payload", "p")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert sealer.open(flipped, "p") is None


def test_load_secret(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(bytes(32))
    assert load_secret(good) == (bytes(32), False)
    hexfile = tmp_path / "hex"
    hexfile.write_text("00" * 32)
    with pytest.raises(ConfigError, match="exactly 32 raw bytes"):
        load_secret(hexfile)
    with pytest.raises(ConfigError, match="cannot read"):
        load_secret(tmp_path / "missing")
    secret, generated = load_secret(None)
    assert generated
    assert len(secret) == 32


def test_passwords_and_random_strings() -> None:
    hashed = hash_password("s3cret")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret")
    assert not verify_password(hashed, "other")
    assert not verify_password("not a hash", "s3cret")
    assert len(random_string(24)) == 24
    assert random_string(24) != random_string(24)


def test_random_strings_use_the_url_safe_alphabet_and_never_repeat() -> None:
    strings = [random_string(32) for _ in range(2000)]  # more than one 4 KiB read
    assert len(set(strings)) == len(strings)
    assert all(len(text) == 32 and re.fullmatch(r"[A-Za-z0-9_-]+", text) for text in strings)


def test_random_bytes_of_threads_differ() -> None:
    drawn: list[bytes] = []
    threads = [threading.Thread(target=lambda: drawn.append(random_bytes(64))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == 4


def _draw_in_child(results: Any) -> None:
    results.put(random_bytes(32))


def test_a_forked_child_never_draws_what_its_parent_read() -> None:
    random_bytes(1)  # the parent now holds bytes it has not handed out yet
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_draw_in_child, args=(results,), daemon=True)
    child.start()
    in_child = results.get(timeout=10)
    child.join(timeout=10)
    assert in_child != random_bytes(32)
