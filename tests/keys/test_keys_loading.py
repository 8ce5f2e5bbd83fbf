"""Key files: every format and family, the kid rules, collected errors, validation folders."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from joserfc.jwk import ECKey, OKPKey, RSAKey

from konnect.config.errors import ConfigError
from konnect.keys import (
    KeyLoadError,
    KeySet,
    SigningKey,
    generate_signing_key,
    jwk_from_pem,
    load_signing_keys,
    load_validation_keys,
)
from konnect.keys.jwt import PrivateKey, PublicKey

PEM = serialization.Encoding.PEM
NO_PASSWORD = serialization.NoEncryption()
PKCS8 = serialization.PrivateFormat.PKCS8
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
BROKEN_PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def weak_exponent_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=3, key_size=2048)


def spki(key: PrivateKeyTypes | PublicKeyTypes) -> bytes:
    """The DER public key of any key, to compare keys independently of our code."""
    public = key.public_key() if isinstance(key, PrivateKey) else key
    assert isinstance(public, PublicKey)
    return public.public_bytes(serialization.Encoding.DER, SPKI)


def write_private(
    path: Path, key: PrivateKeyTypes, fmt: serialization.PrivateFormat = PKCS8
) -> Path:
    path.write_bytes(key.private_bytes(PEM, fmt, NO_PASSWORD))
    return path


def write_public(path: Path, key: PrivateKeyTypes, fmt: serialization.PublicFormat = SPKI) -> Path:
    path.write_bytes(key.public_key().public_bytes(PEM, fmt))
    return path


def write_jwk(path: Path, document: Mapping[str, object]) -> Path:
    path.write_text(json.dumps(document))
    return path


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def b64int(value: int, size: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).rstrip(b"=").decode()


# --- signing keys: formats ------------------------------------------------------------------


def test_pkcs1_rsa_from_openssl_loads(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pem"
    openssl("genrsa", "-traditional", "-out", str(path), "2048")
    assert b"BEGIN RSA PRIVATE KEY" in path.read_bytes()
    [key] = load_signing_keys([path], None)
    assert (key.kid, key.family) == ("legacy", "RSA")
    loaded = serialization.load_pem_private_key(path.read_bytes(), None)
    assert spki(key.private_key) == spki(loaded)


def test_sec1_ec_from_openssl_loads(tmp_path: Path) -> None:
    path = tmp_path / "sec1.pem"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(path))
    assert b"BEGIN EC PRIVATE KEY" in path.read_bytes()
    [key] = load_signing_keys([path], None)
    assert (key.kid, key.family) == ("sec1", "EC")
    loaded = serialization.load_pem_private_key(path.read_bytes(), None)
    assert spki(key.private_key) == spki(loaded)


def test_sec1_ec_with_parameters_block_loads(tmp_path: Path) -> None:
    path = tmp_path / "with-params.pem"
    openssl("ecparam", "-name", "secp384r1", "-genkey", "-out", str(path))
    [key] = load_signing_keys([path], None)
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    assert key.private_key.curve.name == "secp384r1"


@pytest.mark.parametrize(
    ("make", "family"),
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "EC"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "EC"),
        (lambda: ec.generate_private_key(ec.SECP521R1()), "EC"),
        (ed25519.Ed25519PrivateKey.generate, "OKP"),
    ],
)
def test_pkcs8_ec_and_ed25519_load(tmp_path: Path, make: object, family: str) -> None:
    private = make()  # type: ignore[operator]
    path = write_private(tmp_path / "key.pem", private)
    [key] = load_signing_keys([path], None)
    assert key.family == family
    assert spki(key.private_key) == spki(private)


def test_pkcs8_and_pkcs1_rsa_from_cryptography_load(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    pkcs8 = write_private(tmp_path / "a.pem", rsa_key)
    pkcs1 = write_private(tmp_path / "b.key", rsa_key, TRADITIONAL)
    keys = load_signing_keys([pkcs8, pkcs1], None)
    assert [key.kid for key in keys] == ["a", "b"]
    assert all(spki(key.private_key) == spki(rsa_key) for key in keys)


@pytest.mark.parametrize("family", ["RSA", "EC", "OKP"])
def test_private_jwk_loads_with_its_kid(tmp_path: Path, family: str) -> None:
    alg = {"RSA": "PS256", "EC": "ES256", "OKP": "EdDSA"}[family]
    generated = generate_signing_key("x", alg)
    importer = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}[family]
    document = dict(importer.import_key(generated.private_key).as_dict(private=True))  # type: ignore[attr-defined]
    document["kid"] = "from-jwk"
    path = write_jwk(tmp_path / "file-name.json", document)
    [key] = load_signing_keys([path], None)
    assert (key.kid, key.family) == ("from-jwk", family)
    assert spki(key.private_key) == spki(generated.private_key)


def test_public_jwk_is_not_a_signing_key(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    path = write_jwk(
        tmp_path / "public.json",
        {"kty": "EC", "crv": "P-256", "x": b64int(numbers.x, 32), "y": b64int(numbers.y, 32)},
    )
    with pytest.raises(ConfigError) as caught:
        load_signing_keys([path], None)
    assert caught.value.problems == [f"signing private key {path}: the JWK has no private part"]


# --- signing keys: kid rules ----------------------------------------------------------------


def test_symlink_kid_is_the_target_file_name(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    target = write_private(tmp_path / "konnect-20210101-ab12.pem", rsa_key)
    link = tmp_path / "konnectd-signing-private-key.pem"
    link.symlink_to(target)
    [key] = load_signing_keys([link], None)
    assert key.kid == "konnect-20210101-ab12"


def test_signing_kid_names_only_the_first_key(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    first = write_private(tmp_path / "first.pem", rsa_key)
    second = write_private(tmp_path / "second.pem", other_rsa_key)
    keys = load_signing_keys([first, second], "chosen")
    assert [key.kid for key in keys] == ["chosen", "second"]
    # The first key's own kid stays accepted, as tokens may carry it.
    assert keys[0].aliases == ("first",)
    assert keys[1].aliases == ()


def test_signing_kid_overrides_a_jwk_kid(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    document = dict(ECKey.import_key(private).as_dict(private=True))
    document["kid"] = "jwk-kid"
    path = write_jwk(tmp_path / "k.json", document)
    [key] = load_signing_keys([path], "flag-kid")
    assert (key.kid, key.aliases) == ("flag-kid", ("jwk-kid",))


def test_duplicate_kids_keep_the_first_key(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_private(tmp_path / "a" / "same.pem", rsa_key)
    second = write_private(tmp_path / "b" / "same.pem", other_rsa_key)
    keys = load_signing_keys([first, second], None)
    assert [key.kid for key in keys] == ["same"]
    assert spki(keys[0].private_key) == spki(rsa_key)


# --- signing keys: refusals -----------------------------------------------------------------


def test_public_exponent_below_65537_is_refused(
    tmp_path: Path, weak_exponent_key: rsa.RSAPrivateKey
) -> None:
    path = write_private(tmp_path / "weak.pem", weak_exponent_key)
    with pytest.raises(ConfigError) as caught:
        load_signing_keys([path], None)
    [problem] = caught.value.problems
    assert str(path) in problem
    assert "exponent" in problem


@pytest.mark.parametrize("folder", [False, True], ids=["signing", "validation"])
def test_rsa_keys_below_2048_bits_are_refused(tmp_path: Path, folder: bool) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = write_private(tmp_path / "small.pem", small)
    if folder:
        entries, [warning] = load_validation_keys(tmp_path)
        assert entries == []
        assert "1024 bits, 2048 are needed" in warning
        return
    with pytest.raises(ConfigError) as caught:
        load_signing_keys([path], None)
    [problem] = caught.value.problems
    assert str(path) in problem
    assert "1024 bits, 2048 are needed" in problem


def test_every_problem_is_collected(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    good = write_private(tmp_path / "good.pem", rsa_key)
    folder = tmp_path / "folder.pem"
    folder.mkdir()
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    public = write_public(tmp_path / "public.pem", rsa_key)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        rsa_key.private_bytes(PEM, PKCS8, serialization.BestAvailableEncryption(b"secret"))
    )
    secp256k1 = write_private(tmp_path / "k1.pem", ec.generate_private_key(ec.SECP256K1()))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{")
    oct_jwk = write_jwk(tmp_path / "oct.json", {"kty": "oct", "k": "c2VjcmV0"})
    broken = [folder, missing, garbage, public, encrypted, secp256k1, bad_json, oct_jwk]
    with pytest.raises(ConfigError) as caught:
        load_signing_keys([good, *broken], None)
    problems = caught.value.problems
    assert len(problems) == len(broken)
    for path, problem in zip(broken, problems, strict=True):
        assert problem.startswith(f"signing private key {path}: ")
    assert "directory" in problems[0]
    assert "no such file" in problems[1]
    assert "encrypted" in problems[4]
    assert "secp256k1" in problems[5]


# --- validation keys ------------------------------------------------------------------------


def test_validation_folder_loads_every_format(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    sec1 = tmp_path / "sec1.pem"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(sec1))
    write_public(tmp_path / "pkix.pem", rsa_key)
    write_public(tmp_path / "pkcs1-public.pem", other_rsa_key, serialization.PublicFormat.PKCS1)
    write_private(tmp_path / "pkcs1-private.pem", rsa_key, TRADITIONAL)
    write_private(tmp_path / "pkcs8-ed.pem", ed_key)
    private_jwk = dict(ECKey.import_key(ec_key).as_dict(private=True))
    write_jwk(tmp_path / "ec.json", {**private_jwk, "kid": "ec-from-jwk"})
    write_jwk(tmp_path / "ed-public.json", dict(OKPKey.import_key(ed_key.public_key()).as_dict()))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "broken.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )
    (tmp_path / "link.pem").symlink_to(tmp_path / "pkix.pem")

    entries, warnings = load_validation_keys(tmp_path)

    by_kid = {entry.kid: entry for entry in entries}
    assert sorted(by_kid) == [
        "ec-from-jwk",
        "ed-public",
        "link",
        "pkcs1-private",
        "pkcs1-public",
        "pkcs8-ed",
        "pkix",
        "sec1",
    ]
    assert spki(by_kid["pkix"].public_key) == spki(rsa_key)
    assert spki(by_kid["link"].public_key) == spki(rsa_key)
    assert spki(by_kid["pkcs1-public"].public_key) == spki(other_rsa_key)
    assert spki(by_kid["pkcs1-private"].public_key) == spki(rsa_key)
    assert spki(by_kid["ec-from-jwk"].public_key) == spki(ec_key)
    assert spki(by_kid["ed-public"].public_key) == spki(ed_key)
    sec1_key = serialization.load_pem_private_key(sec1.read_bytes(), None)
    assert spki(by_kid["sec1"].public_key) == spki(sec1_key)
    assert by_kid["pkcs8-ed"].family == "OKP"
    assert [entry.family for entry in entries].count("RSA") == 4
    assert len(warnings) == 1
    assert str(tmp_path / "broken.pem") in warnings[0]


def test_validation_folder_skips_weak_and_duplicate_keys(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, weak_exponent_key: rsa.RSAPrivateKey
) -> None:
    write_public(tmp_path / "weak.pem", weak_exponent_key)
    write_public(tmp_path / "same.json", rsa_key)  # not JSON: skipped
    write_public(tmp_path / "same.pem", rsa_key)
    entries, warnings = load_validation_keys(tmp_path)
    assert [entry.kid for entry in entries] == ["same"]
    assert len(warnings) == 2
    assert any("weak.pem" in warning and "exponent" in warning for warning in warnings)


def test_validation_folder_duplicate_kid_keeps_the_first(tmp_path: Path) -> None:
    first = ec.generate_private_key(ec.SECP256R1())
    second = ec.generate_private_key(ec.SECP256R1())
    write_jwk(tmp_path / "a.json", {**ECKey.import_key(first).as_dict(), "kid": "k"})
    write_jwk(tmp_path / "b.json", {**ECKey.import_key(second).as_dict(), "kid": "k"})
    entries, warnings = load_validation_keys(tmp_path)
    assert [spki(entry.public_key) for entry in entries] == [spki(first)]
    assert len(warnings) == 1


def test_validation_path_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_validation_keys(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in caught.value.problems[0]


# --- generated keys and SigningKey ----------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "family", "size"),
    [
        ("RS256", "RSA", 2048),
        ("PS512", "RSA", 2048),
        ("ES256", "EC", 256),
        ("ES384", "EC", 384),
        ("ES512", "EC", 521),
        ("EdDSA", "OKP", None),
    ],
)
def test_generated_key_fits_the_signing_method(alg: str, family: str, size: int | None) -> None:
    key = generate_signing_key(alg=alg)
    assert (key.kid, key.family) == ("default", family)
    assert getattr(key.private_key, "key_size", None) == size
    KeySet([key], [], alg)  # refuses a key that cannot sign with alg


def test_no_key_is_generated_for_an_unknown_alg() -> None:
    with pytest.raises(ValueError, match="DSA"):
        generate_signing_key("x", "DSA")


def test_signing_key_family_must_match_the_key() -> None:
    with pytest.raises(ValueError, match="RSA"):
        SigningKey("k", ed25519.Ed25519PrivateKey.generate(), "RSA")


# --- jwk-from-pem ---------------------------------------------------------------------------


def test_jwk_from_ec_private_pem(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    path = write_private(tmp_path / "client-key.pem", private)
    jwk = jwk_from_pem(path)
    numbers = private.private_numbers()
    assert jwk == {
        "crv": "P-256",
        "d": b64int(numbers.private_value, 32),
        "kid": "client-key",
        "kty": "EC",
        "use": "sig",
        "x": b64int(numbers.public_numbers.x, 32),
        "y": b64int(numbers.public_numbers.y, 32),
    }
    assert list(jwk) == sorted(jwk)


def test_jwk_from_ec_public_pem_with_kid_and_no_use(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    path = write_public(tmp_path / "client-key.pem", private)
    jwk = jwk_from_pem(path, kid="mine", use=None)
    numbers = private.public_key().public_numbers()
    assert jwk == {
        "crv": "P-384",
        "kid": "mine",
        "kty": "EC",
        "x": b64int(numbers.x, 48),
        "y": b64int(numbers.y, 48),
    }


def test_jwk_from_rsa_private_pem_has_every_private_member(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    path = write_private(tmp_path / "r.pem", rsa_key, TRADITIONAL)
    jwk = jwk_from_pem(path)
    assert list(jwk) == ["d", "dp", "dq", "e", "kid", "kty", "n", "p", "q", "qi", "use"]
    assert jwk["e"] == "AQAB"
    rebuilt = RSAKey.import_key(jwk).private_key
    assert rebuilt is not None
    assert spki(rebuilt) == spki(rsa_key)


def test_jwk_from_jwk_file_keeps_its_kid(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    public_jwk = dict(OKPKey.import_key(private.public_key()).as_dict())
    path = write_jwk(tmp_path / "ed.json", {**public_jwk, "kid": "inside"})
    assert jwk_from_pem(path) == {**public_jwk, "kid": "inside", "use": "sig"}


def test_jwk_from_pem_errors_name_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    for path in (garbage, tmp_path / "missing.pem", tmp_path):
        with pytest.raises(KeyLoadError, match=str(path)):
            jwk_from_pem(path)
