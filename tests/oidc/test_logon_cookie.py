"""The sealed sign-in cookie keeps how and when the user authenticated."""

from __future__ import annotations

from dataclasses import replace

from konnect.crypto import Sealer
from konnect.oidc.session import BrowserCookies, Logon
from konnect.oidc.urls import CookiePolicy, Endpoints

NOW = 1_800_000_000


def _cookies() -> BrowserCookies:
    return BrowserCookies(Sealer(bytes(32)), CookiePolicy(True), Endpoints("https://id.example"))


def _round_trip(logon: Logon) -> Logon | None:
    cookies = _cookies()
    spec = cookies.logon(logon)
    return cookies.read_logon({spec.name: spec.value or ""}, now=NOW)


def test_methods_second_factor_time_and_epoch_survive_the_cookie() -> None:
    logon = Logon("sub", "jane", "Jane", "users", NOW - 5, "s" * 32, NOW - 5)
    strong = replace(logon, amr=("pwd", "otp", "mfa"), mfa_time=NOW - 2, epoch=3)
    assert _round_trip(strong) == strong
    assert _round_trip(logon) == logon  # nothing recorded: nothing invented


def test_a_cookie_whose_methods_are_not_strings_is_refused() -> None:
    cookies = _cookies()
    sealed = Sealer(bytes(32)).seal_json(
        {"s": "sub", "u": "j", "p": "users", "iat": NOW, "sid": "s" * 32, "ls": NOW, "amr": [1]},
        "konnect-logon-v1",
    )
    assert cookies.read_logon({cookies.logon_name: sealed}, now=NOW) is None


def test_a_sign_in_with_an_end_ends_then_and_one_without_is_sealed_without_it() -> None:
    cookies = _cookies()
    logon = Logon("sub", "jane", "Jane", "users", NOW - 5, "s" * 32, NOW - 5)
    ending = cookies.logon(replace(logon, not_after=NOW + 1))
    assert cookies.read_logon({ending.name: ending.value or ""}, now=NOW) is not None
    assert cookies.read_logon({ending.name: ending.value or ""}, now=NOW + 1) is None
    plain = cookies.logon(logon)
    record = Sealer(bytes(32)).open_json(plain.value or "", "konnect-logon-v1")
    assert record is not None
    assert "na" not in record
    assert cookies.read_logon({plain.name: plain.value or ""}, now=NOW + 1) is not None
