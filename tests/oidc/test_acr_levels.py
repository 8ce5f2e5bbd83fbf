"""Authentication levels: what sign-in methods are worth, and what a request asks of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from konnect.oidc.acr import MFA, PHR, SFA, AcrPolicy, acr_request, level_of, requested_level
from konnect.oidc.errors import OAuthError

POLICY = AcrPolicy.from_words([f"gold={MFA}", f"bronze={SFA}"], reachable=MFA)


@pytest.mark.parametrize(
    ("amr", "level"),
    [
        ((), SFA),  # methods konnect did not see
        (("pwd",), SFA),
        (("otp",), SFA),
        (("pop", "user"), SFA),  # a key used alone, without a second factor
        (("pwd", "otp", "mfa"), MFA),
        (("pwd", "pop", "user", "mfa"), PHR),  # password and a security key
        (("hwk", "user", "mfa"), PHR),  # a passkey that verified its user
        (("swk", "mfa"), PHR),
    ],
)
def test_the_level_of_sign_in_methods(amr: tuple[str, ...], level: str) -> None:
    assert level_of(amr) == level


def essential(**entry: Any) -> dict[str, Any]:
    return {"id_token": {"acr": {"essential": True, **entry}}}


def test_an_essential_acr_demands_the_weakest_of_its_values() -> None:
    assert requested_level(essential(values=["gold", "bronze"]), POLICY) == SFA
    assert requested_level(essential(value="gold"), POLICY) == MFA
    assert requested_level(essential(values=["urn:unknown", MFA]), POLICY) == MFA


def test_no_demand_without_an_essential_acr_with_values() -> None:
    assert requested_level(None, POLICY) is None
    assert requested_level({"id_token": {"acr": {"values": [MFA]}}}, POLICY) is None
    assert requested_level({"id_token": {"acr": None}}, POLICY) is None
    assert requested_level(essential(), POLICY) is None  # any sign-in meets it
    assert requested_level({"userinfo": {"acr": {"essential": True}}}, POLICY) is None


@pytest.mark.parametrize("values", [["urn:unknown"], [PHR], ["top"], [7]])
def test_an_essential_acr_konnect_cannot_meet_is_unmet(values: list[Any]) -> None:
    with pytest.raises(OAuthError) as raised:
        requested_level(essential(values=values), POLICY)
    assert raised.value.error == "unmet_authentication_requirements"


def test_what_a_request_asks() -> None:
    claims = json.loads(json.dumps({"id_token": {"acr": {"values": ["gold"]}}}))
    asked = acr_request("bronze urn:x", claims, ("gold",), POLICY)
    assert (asked.asked, asked.values, asked.required) == (True, ("bronze", "urn:x", "gold"), None)
    assert acr_request(None, None, ("gold",), POLICY).values == ("gold",)
    assert acr_request("", None, ("gold",), POLICY).asked is False
    assert acr_request(None, None, (), POLICY).asked is False
