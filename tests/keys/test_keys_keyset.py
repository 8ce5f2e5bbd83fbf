"""The key set: active signer, JWKS, signing every algorithm, verification and its refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import warnings
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from joserfc import jws, jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, RSAKey
from joserfc.jwk import KeySet as JoseKeySet

from konnect.config.errors import ConfigError
from konnect.keys import (
    InvalidToken,
    KeySet,
    PublicKeyEntry,
    SigningKey,
    UnsupportedAlgorithm,
    load_validation_keys,
)

NOW = 1_700_000_000
ALL_ALGS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
KID_BY_ALG = {"ES256": "p256", "ES384": "p384", "ES512": "p521", "EdDSA": "ed"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="module")
def signers(rsa_keys: list[rsa.RSAPrivateKey]) -> list[SigningKey]:
    """One signer per curve and family, so that every algorithm has a key."""
    return [
        SigningKey("rsa", rsa_keys[0], "RSA"),
        SigningKey("p256", ec.generate_private_key(ec.SECP256R1()), "EC"),
        SigningKey("p384", ec.generate_private_key(ec.SECP384R1()), "EC"),
        SigningKey("p521", ec.generate_private_key(ec.SECP521R1()), "EC"),
        SigningKey("ed", ed25519.Ed25519PrivateKey.generate(), "OKP"),
    ]


@pytest.fixture(scope="module")
def keyset(signers: list[SigningKey]) -> KeySet:
    return KeySet(signers, [], "PS256")


def claims(**extra: Any) -> dict[str, Any]:
    return {"iss": "https://id.example.com", "sub": "s", "exp": NOW + 60, "iat": NOW, **extra}


def segments(token: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]


def jwks_of(keyset: KeySet) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], json.loads(keyset.jwks_json)["keys"])


def joserfc_decode(token: str, jwk: dict[str, Any], alg: str) -> dict[str, Any]:
    """Verify with joserfc alone, from the published JWK (an independent verifier)."""
    key = JoseKeySet.import_key_set({"keys": [jwk]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc flags EdDSA as deprecated
        return dict(jwt.decode(token, key, algorithms=[alg]).claims)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- signing --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALL_ALGS)
def test_every_algorithm_round_trips_and_joserfc_accepts_it(keyset: KeySet, alg: str) -> None:
    token = keyset.sign(claims(alg_used=alg), alg)
    header, payload, _ = segments(token)
    kid = KID_BY_ALG.get(alg, "rsa")
    assert header == f'{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}'.encode()
    assert payload == json.dumps(claims(alg_used=alg), separators=(",", ":")).encode()
    assert keyset.verify(token, now=NOW) == claims(alg_used=alg)
    [jwk] = [entry for entry in jwks_of(keyset) if entry["kid"] == kid]
    assert joserfc_decode(token, jwk, alg) == claims(alg_used=alg)


@pytest.mark.parametrize(
    ("alg", "kid", "length"), [("ES256", "p256", 64), ("ES384", "p384", 96), ("ES512", "p521", 132)]
)
def test_ecdsa_signatures_are_raw_and_use_the_curve_key(
    keyset: KeySet, alg: str, kid: str, length: int
) -> None:
    header, _, signature = segments(keyset.sign(claims(), alg))
    assert json.loads(header)["kid"] == kid
    assert len(signature) == length


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pss_salt_length_is_the_hash_length(
    keyset: KeySet, rsa_keys: list[rsa.RSAPrivateKey], alg: str
) -> None:
    token = keyset.sign(claims(), alg)
    signing_input = token.rpartition(".")[0].encode()
    digest = {"PS256": hashes.SHA256(), "PS384": hashes.SHA384(), "PS512": hashes.SHA512()}[alg]
    # An explicit salt length makes cryptography refuse signatures made with any other.
    pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    rsa_keys[0].public_key().verify(segments(token)[2], signing_input, pss, digest)


def test_default_alg_is_the_signing_method_with_the_active_key(keyset: KeySet) -> None:
    header = json.loads(segments(keyset.sign(claims()))[0])
    assert header == {"alg": "PS256", "kid": "rsa", "typ": "JWT"}
    assert keyset.signing_alg_for(None) == "PS256"
    assert keyset.signing_alg_for("ES384") == "ES384"


def test_active_signer_is_the_first_fitting_key(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    ec_key = SigningKey("ec", ec.generate_private_key(ec.SECP256R1()), "EC")
    first = SigningKey("first", rsa_keys[1], "RSA")
    second = SigningKey("second", rsa_keys[2], "RSA")
    for order, expected in (([ec_key, first, second], "first"), ([second, first], "second")):
        keys = KeySet(order, [], "RS256")
        assert keys.active_kid == expected
        for _ in range(5):
            assert json.loads(segments(keys.sign(claims()))[0])["kid"] == expected


def test_missing_algorithm_is_unsupported(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    keys = KeySet([SigningKey("r", rsa_keys[0], "RSA")], [], "RS256")
    for alg in ("ES256", "EdDSA", "HS256", "none"):
        with pytest.raises(UnsupportedAlgorithm):
            keys.sign(claims(), alg)
        with pytest.raises(UnsupportedAlgorithm):
            keys.signing_alg_for(alg)


def test_signing_algorithms_list_only_what_keys_produce(
    keyset: KeySet, rsa_keys: list[rsa.RSAPrivateKey], signers: list[SigningKey]
) -> None:
    assert keyset.signing_algorithms == ALL_ALGS
    rsa_only = KeySet([SigningKey("r", rsa_keys[0], "RSA")], [], "PS256")
    assert rsa_only.signing_algorithms == ALL_ALGS[:6]
    p384_only = KeySet([signers[2]], [], "ES384")
    assert p384_only.signing_algorithms == ["ES384"]
    ed_and_p256 = KeySet([signers[4], signers[1]], [], "EdDSA")
    assert ed_and_p256.signing_algorithms == ["ES256", "EdDSA"]


@pytest.mark.parametrize(
    ("method", "fragment"),
    [("HS256", "not supported"), ("XX1", "not supported"), ("ES384", "ES384"), ("EdDSA", "EdDSA")],
)
def test_signing_method_without_a_key_is_a_config_error(
    signers: list[SigningKey], method: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        KeySet([signers[0], signers[1]], [], method)
    assert fragment in caught.value.problems[0]


def test_no_signing_keys_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no signing key"):
        KeySet([], [], "PS256")


def test_warning_without_rsa_key(signers: list[SigningKey], keyset: KeySet) -> None:
    assert keyset.warnings == []
    assert any("RSA" in warning for warning in KeySet([signers[1]], [], "ES256").warnings)


# --- JWKS -----------------------------------------------------------------------------------


def test_jwks_lists_signers_alias_and_validation_keys(
    signers: list[SigningKey], rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    validation = PublicKeyEntry("old", rsa_keys[2].public_key(), "RSA")
    renamed = SigningKey("flag-kid", rsa_keys[1], "RSA", aliases=("file-kid",))
    keys = KeySet([signers[1], renamed, signers[4]], [validation], "RS256")
    entries = jwks_of(keys)
    assert [entry["kid"] for entry in entries] == [
        "p256",
        "flag-kid",
        "file-kid",
        "ed",
        "default",
        "old",
    ]
    by_kid = {entry["kid"]: entry for entry in entries}
    assert by_kid["default"] == {**by_kid["flag-kid"], "kid": "default"}
    assert by_kid["file-kid"] == {**by_kid["flag-kid"], "kid": "file-kid"}
    numbers = rsa_keys[1].public_key().public_numbers()
    assert by_kid["flag-kid"]["n"] == b64(numbers.n.to_bytes(256, "big"))
    assert by_kid["flag-kid"]["e"] == "AQAB"
    assert set(by_kid["p256"]) == {"kty", "crv", "x", "y", "kid", "use"}
    assert by_kid["p256"]["crv"] == "P-256"
    assert by_kid["ed"] == {**by_kid["ed"], "kty": "OKP", "crv": "Ed25519"}
    for entry in entries:
        assert entry["use"] == "sig"
        assert "alg" not in entry
        assert not PRIVATE_MEMBERS & set(entry)


def test_no_alias_when_the_active_kid_is_default(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    keys = KeySet([SigningKey("default", rsa_keys[0], "RSA")], [], "PS256")
    assert [entry["kid"] for entry in jwks_of(keys)] == ["default"]


def test_validation_key_cannot_take_a_signer_kid(
    signers: list[SigningKey], rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    clash = PublicKeyEntry("rsa", rsa_keys[2].public_key(), "RSA")
    keys = KeySet([signers[0]], [clash], "PS256")
    by_kid = {entry["kid"]: entry for entry in jwks_of(keys)}
    assert by_kid["rsa"]["n"] == by_kid["default"]["n"]
    assert len(keys.warnings) == 1


def test_alias_kids_verify() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    renamed = SigningKey("flag-kid", private_key, "EC", aliases=("file-kid",))
    keys = KeySet([renamed], [], "ES256")
    for kid in ("flag-kid", "file-kid", "default"):
        token = jws.serialize_compact(
            {"alg": "ES256", "kid": kid},
            json.dumps(claims()),
            ECKey.import_key(private_key),
        )
        assert keys.verify(token, now=NOW) == claims()


# --- rotation -------------------------------------------------------------------------------


def test_rotated_key_in_validation_folder_still_verifies(
    tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    old = KeySet([SigningKey("2024-old", rsa_keys[1], "RSA")], [], "PS256")
    token = old.sign(claims())
    (tmp_path / "2024-old.pem").write_bytes(
        rsa_keys[1].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    validation, problems = load_validation_keys(tmp_path)
    assert problems == []
    new = KeySet([SigningKey("2025-new", rsa_keys[2], "RSA")], validation, "PS256")
    assert new.verify(token, now=NOW) == claims()
    assert [entry["kid"] for entry in jwks_of(new)] == ["2025-new", "default", "2024-old"]
    without_old = KeySet([SigningKey("2025-new", rsa_keys[2], "RSA")], [], "PS256")
    with pytest.raises(InvalidToken, match="unknown key"):
        without_old.verify(token, now=NOW)


# --- verification refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_claims", "now", "reason"),
    [
        (claims(), NOW + 60, "token expired"),
        (claims(), NOW + 10_000, "token expired"),
        (claims(nbf=NOW + 1), NOW, "token not yet valid"),
        (claims(iat=NOW + 1), NOW, "token issued in the future"),
        ({"sub": "s"}, NOW, "token has no expiry"),
        (claims(exp="tomorrow"), NOW, "invalid exp claim"),
        (claims(exp=True), NOW, "invalid exp claim"),
        (claims(iat=[1]), NOW, "invalid iat claim"),
    ],
)
def test_time_claims(keyset: KeySet, token_claims: dict[str, Any], now: int, reason: str) -> None:
    token = keyset.sign(token_claims)
    with pytest.raises(InvalidToken) as caught:
        keyset.verify(token, now=now)
    assert caught.value.reason == reason


def test_time_claims_accept_the_last_valid_second(keyset: KeySet) -> None:
    token = keyset.sign(claims(nbf=NOW))
    assert keyset.verify(token, now=NOW + 59)["sub"] == "s"
    assert keyset.verify(token, now=NOW)["sub"] == "s"


def test_expiry_can_be_ignored(keyset: KeySet) -> None:
    expired = keyset.sign(claims())
    assert keyset.verify(expired, now=NOW + 3600, check_exp=False) == claims()
    assert keyset.verify(keyset.sign({"sub": "s"}), now=NOW, check_exp=False) == {"sub": "s"}
    with pytest.raises(InvalidToken, match="future"):
        keyset.verify(keyset.sign(claims(iat=NOW + 5)), now=NOW, check_exp=False)


def test_default_now_is_the_wall_clock(keyset: KeySet) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        keyset.verify(keyset.sign(claims()))


def tamper(token: str, index: int, data: bytes) -> str:
    parts = token.split(".")
    parts[index] = b64(data)
    return ".".join(parts)


def test_tampered_tokens_fail(keyset: KeySet) -> None:
    for alg in ALL_ALGS:
        token = keyset.sign(claims(), alg)
        signature = segments(token)[2]
        forged_payload = tamper(token, 1, json.dumps(claims(sub="admin")).encode())
        flipped = tamper(token, 2, bytes([signature[0] ^ 1]) + signature[1:])
        for bad in (forged_payload, flipped, tamper(token, 2, b"")):
            with pytest.raises(InvalidToken, match="invalid signature"):
                keyset.verify(bad, now=NOW)


def test_foreign_key_with_a_known_kid_fails(keyset: KeySet) -> None:
    foreign = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"alg": "ES256", "kid": "p256"}, claims(), ECKey.import_key(foreign))
    with pytest.raises(InvalidToken, match="invalid signature"):
        keyset.verify(token, now=NOW)


def test_unknown_or_missing_kid_fails(keyset: KeySet, signers: list[SigningKey]) -> None:
    valid = keyset.sign(claims(), "RS256")
    for header in ({"alg": "RS256", "kid": "nope"}, {"alg": "RS256"}, {"alg": "RS256", "kid": 5}):
        token = tamper(valid, 0, json.dumps(header).encode())
        with pytest.raises(InvalidToken, match="unknown key"):
            keyset.verify(token, now=NOW)


def test_algorithm_must_fit_the_key(keyset: KeySet, signers: list[SigningKey]) -> None:
    for alg, kid in (("ES256", "rsa"), ("ES384", "p256"), ("RS256", "ed"), ("EdDSA", "p521")):
        token = tamper(
            keyset.sign(claims(), None), 0, json.dumps({"alg": alg, "kid": kid}).encode()
        )
        with pytest.raises(InvalidToken, match="algorithm does not fit"):
            keyset.verify(token, now=NOW)


def test_none_and_hmac_are_refused(keyset: KeySet, signers: list[SigningKey]) -> None:
    unsigned = b64(b'{"alg":"none","kid":"rsa"}') + "." + b64(json.dumps(claims()).encode()) + "."
    public_pem = signers[0].public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic confusion: HMAC keyed with the published public key.
    signing_input = b64(b'{"alg":"HS256","kid":"rsa"}') + "." + b64(json.dumps(claims()).encode())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    hmac_token = signing_input + "." + b64(mac)
    for token in (unsigned, hmac_token):
        with pytest.raises(InvalidToken, match="unsupported algorithm"):
            keyset.verify(token, now=NOW)


def test_non_object_payloads_fail(keyset: KeySet, signers: list[SigningKey]) -> None:
    key = RSAKey.import_key(cast(rsa.RSAPrivateKey, signers[0].private_key))
    for payload in (b"[1,2]", b'"text"', b"12", b"not json", b"\xff\xfe", b'{"exp":NaN}'):
        token = jws.serialize_compact({"alg": "RS256", "kid": "rsa"}, payload, key)
        with pytest.raises(InvalidToken, match="malformed claims"):
            keyset.verify(token, now=NOW)


GARBAGE = [
    "",
    ".",
    "..",
    "...",
    "a.b",
    "a.b.c.d",
    "a.b.c",
    "eyJhbGciOiJSUzI1NiJ9",
    "eyJ.eyJ.sig",
    "!!!.???.***",
    "ä.ö.ü",
    "e30.e30.e30",
    b64(b"[]") + ".e30.",
    b64(b'{"alg":5}') + ".e30.",
    b64(b'{"kid":"rsa"}') + ".e30.",
    b64(b'{"alg":"RS256","kid":"rsa","crit":["x"]}') + ".e30.AAAA",
    b64(b"{" * 5000) + ".e30.",
    "x" * 1_000_000,
    ("a" * 1000 + ".") * 2 + "a",
    "\x00.\x00.\x00",
    "\ud800.a.b",
]


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_raises_only_invalid_token(keyset: KeySet, token: str) -> None:
    with pytest.raises(InvalidToken):
        keyset.verify(token, now=NOW)


def test_non_string_input_raises_invalid_token(keyset: KeySet) -> None:
    for value in (None, b"a.b.c", 5, ["a", "b", "c"]):
        with pytest.raises(InvalidToken):
            keyset.verify(cast(str, value), now=NOW)


def test_mutated_tokens_never_raise_anything_else(keyset: KeySet) -> None:
    rng = random.Random(20240601)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é\x00"
    originals = [keyset.sign(claims(), alg) for alg in ("PS256", "ES256", "EdDSA")]
    for _ in range(600):
        chars = list(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars))
            action = rng.randrange(3)
            if action == 0:
                chars[position] = rng.choice(alphabet)
            elif action == 1:
                del chars[position]
            else:
                chars.insert(position, rng.choice(alphabet))
        try:
            verified = keyset.verify("".join(chars), now=NOW)
        except InvalidToken:
            continue
        # Only a mutation that left the signed bytes unchanged may pass.
        assert verified == claims()


def test_a_token_verified_before_is_still_checked_for_time_and_not_shared(
    keyset: KeySet,
) -> None:
    token = keyset.sign(claims(exp=2_000, iat=1_000))
    first = keyset.verify(token, now=1_500)
    first["sub"] = "someone else"
    assert keyset.verify(token, now=1_500)["sub"] == claims()["sub"]
    with pytest.raises(InvalidToken, match="expired"):
        keyset.verify(token, now=2_000)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidToken):
        keyset.verify(forged, now=1_500)
