"""TOTP per RFC 6238: the RFC's test vectors, drift of one step, malformed codes."""

from __future__ import annotations

import pytest

from konnect.mfa import new_totp_seed, totp_code, totp_step, verify_totp
from konnect.mfa.totp import hotp, provisioning_uri, seed_text

RFC_SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B: time, then the eight-digit codes for SHA-1, SHA-256, SHA-512.
RFC_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("now", "sha1", "sha256", "sha512"), RFC_VECTORS)
def test_rfc_6238_vectors(now: int, sha1: str, sha256: str, sha512: str) -> None:
    for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp_code(RFC_SEEDS[digest], now, digits=8, digest=digest) == expected


def test_rfc_4226_vectors_in_six_digits() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676"]
    assert [hotp(RFC_SEEDS["sha1"], counter) for counter in range(6)] == expected


def test_a_code_matches_its_step_and_one_either_side_only() -> None:
    seed, now = RFC_SEEDS["sha1"], 1111111111.0
    step = totp_step(now)
    for drift in (-1, 0, 1):
        assert verify_totp(seed, hotp(seed, step + drift), now) == step + drift
    for drift in (-3, -2, 2, 3):
        assert verify_totp(seed, hotp(seed, step + drift), now) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"])
def test_malformed_codes_never_match(typed: str) -> None:
    assert verify_totp(RFC_SEEDS["sha1"], typed, 59) is None


def test_spaces_in_a_typed_code_are_ignored() -> None:
    seed = RFC_SEEDS["sha1"]
    code = totp_code(seed, 59)
    assert verify_totp(seed, f" {code[:3]} {code[3:]} ", 59) == totp_step(59)


def test_seeds_are_twenty_random_bytes() -> None:
    seeds = {new_totp_seed() for _ in range(10)}
    assert len(seeds) == 10
    assert all(len(seed) == 20 for seed in seeds)


def test_provisioning_uri_carries_the_base32_seed() -> None:
    seed = RFC_SEEDS["sha1"]
    uri = provisioning_uri(seed, "Example Org", "jane@example.org")
    assert seed_text(seed) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert uri.startswith("otpauth://totp/Example%20Org%3Ajane%40example.org?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in uri
    assert "issuer=Example%20Org" in uri
    assert "digits=6" in uri
    assert "period=30" in uri
