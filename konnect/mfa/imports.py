"""Reading authenticator-app keys exported elsewhere, for `konnectd mfa import-totp`.

One key a line, either CSV (`user,seed[,name]`) or a JSON object (`{"user": …, "seed": …,
"name": …}`); blank lines and lines starting with `#` are skipped. The seed is base32 (spaces,
case and `=` padding do not matter) and must hold 128 to 512 bits (RFC 4226 §4 asks for at
least 128). JSON lines may state `algorithm`, `digits` and `period`; only the values every
authenticator app uses (SHA1, 6, 30) are accepted. A problem names its line, never the seed.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from dataclasses import dataclass
from typing import Any

from konnect.mfa.totp import TOTP_DIGITS, TOTP_PERIOD

MIN_SEED_BYTES = 16
MAX_SEED_BYTES = 64
_STANDARD = {"algorithm": "SHA1", "digits": TOTP_DIGITS, "period": TOTP_PERIOD}


@dataclass(frozen=True)
class ImportedSeed:
    """One line's key: who it belongs to (a sign-in name), the seed, a name for the app."""

    line: int
    user: str
    seed: bytes
    name: str


class LineProblem(Exception):
    """Why a line cannot be imported, in words for the administrator (without the seed)."""


def read_seeds(text: str) -> tuple[list[ImportedSeed], list[str]]:
    """The keys of an export, and one message per line that cannot be imported."""
    seeds: list[ImportedSeed] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            seeds.append(_read_line(number, stripped))
        except LineProblem as problem:
            problems.append(f"line {number}: {problem}")
    return seeds, problems


def _read_line(number: int, line: str) -> ImportedSeed:
    fields = _json_fields(line) if line.startswith("{") else _csv_fields(line)
    user = str(fields.get("user") or "").strip()
    if not user:
        raise LineProblem("no user name")
    for option, standard in _STANDARD.items():
        given = fields.get(option)
        if given is not None and str(given).upper() != str(standard):
            raise LineProblem(f"{option} {given} is not supported (only {standard})")
    seed = decode_seed(str(fields.get("seed") or ""))
    return ImportedSeed(number, user, seed, str(fields.get("name") or "").strip())


def _json_fields(line: str) -> dict[str, Any]:
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineProblem(f"not a JSON object ({exc.msg} at column {exc.colno})") from None
    if not isinstance(fields, dict):
        raise LineProblem("not a JSON object")
    return fields


def _csv_fields(line: str) -> dict[str, Any]:
    cells = next(csv.reader([line]))
    if len(cells) not in (2, 3):
        raise LineProblem(f"expected user,seed[,name], found {len(cells)} fields")
    return dict(zip(("user", "seed", "name"), cells, strict=False))


def decode_seed(text: str) -> bytes:
    """The seed a base32 text encodes (LineProblem when it is not one of a usable size)."""
    compact = "".join(text.split()).upper().rstrip("=")
    if not compact:
        raise LineProblem("no seed")
    try:
        seed = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        raise LineProblem("the seed is not base32 (letters A-Z and digits 2-7)") from None
    if not MIN_SEED_BYTES <= len(seed) <= MAX_SEED_BYTES:
        bits = len(seed) * 8
        raise LineProblem(
            f"the seed has {bits} bits; {MIN_SEED_BYTES * 8} to {MAX_SEED_BYTES * 8} are "
            "accepted (the user sets the app up again instead)"
        )
    return seed
