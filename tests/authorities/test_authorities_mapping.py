"""An authority's claims mapped to a user who exists only upstream: which claims fill which
field, what is dropped, and where the subject comes from."""

from __future__ import annotations

import pytest

from konnect.authorities import read_authorities
from konnect.authorities.mapping import MAX_GROUPS_SIZE, UserMapping, upstream_user
from konnect.config.errors import ConfigError
from konnect.crypto import Sealer, public_subject
from konnect.identity import UPSTREAM_PROVIDER, User, upstream_subject
from konnect.oidc.errors import OAuthError
from konnect.oidc.session import BrowserCookies, Logon
from konnect.oidc.urls import CookiePolicy, Endpoints

CLAIMS = {
    "iss": "https://idp.example.com",
    "sub": "248289761001",
    "preferred_username": "olga",
    "name": "Olga Outsider",
    "given_name": "Olga",
    "family_name": "Outsider",
    "email": "olga@partner.example",
    "email_verified": True,
    "groups": ["partners", 7, "staff"],
    "upn": "o.outsider@partner.example",
}


def test_standard_claims_fill_the_user_and_the_subject_comes_from_iss_and_sub() -> None:
    user = upstream_user(UserMapping("partner", "preferred_username"), CLAIMS)
    assert user == User(
        subject=upstream_subject("https://idp.example.com", "248289761001"),
        username="olga",
        name="Olga Outsider",
        given_name="Olga",
        family_name="Outsider",
        email="olga@partner.example",
        email_verified=True,
        groups=("partners", "staff"),
        authority="partner",
    )
    assert user.subject.endswith("@konnect")


def test_the_subject_is_the_same_whichever_authority_entry_names_the_issuer() -> None:
    first = upstream_user(UserMapping("partner", "preferred_username"), CLAIMS)
    renamed = upstream_user(UserMapping("partner-2", "preferred_username"), CLAIMS)
    assert first.subject == renamed.subject
    other_issuer = upstream_user(
        UserMapping("partner", "preferred_username"), {**CLAIMS, "iss": "https://other.example"}
    )
    assert other_issuer.subject != first.subject


def test_the_namespace_differs_from_a_local_users_with_the_same_raw_subject() -> None:
    user = upstream_user(UserMapping("partner", "preferred_username"), CLAIMS)
    local = public_subject("248289761001", "identifier-users")
    assert public_subject(user.subject, UPSTREAM_PROVIDER) != local
    assert user.subject != "248289761001"


def test_the_admin_chooses_the_claims() -> None:
    mapping = UserMapping(
        "partner",
        "preferred_username",
        claims={"username": "upn", "email": "upn", "groups": "roles"},
    )
    user = upstream_user(mapping, {**CLAIMS, "roles": "meet-users"})
    assert (user.username, user.email, user.groups) == (
        "o.outsider@partner.example",
        "o.outsider@partner.example",
        ("meet-users",),
    )
    assert user.name == "Olga Outsider"  # unmapped fields keep the standard claim


def test_the_user_name_defaults_to_the_identity_claim() -> None:
    user = upstream_user(UserMapping("partner", "upn"), CLAIMS)
    assert user.username == "o.outsider@partner.example"


@pytest.mark.parametrize("missing", ["iss", "sub", "preferred_username"])
def test_without_issuer_subject_or_user_name_no_one_signs_in(missing: str) -> None:
    claims = {key: value for key, value in CLAIMS.items() if key != missing}
    with pytest.raises(OAuthError) as caught:
        upstream_user(UserMapping("partner", "preferred_username"), claims)
    assert caught.value.error == "access_denied"


def test_oversized_values_are_dropped_and_groups_kept_as_far_as_they_fit() -> None:
    many = [f"group-{index:04d}" for index in range(200)]
    claims = {**CLAIMS, "name": "x" * 300, "groups": many, "email_verified": "true"}
    mapping = UserMapping("partner", "preferred_username")
    user = upstream_user(mapping, claims)
    assert user.name == ""
    assert 0 < sum(len(group) for group in user.groups) <= MAX_GROUPS_SIZE
    assert user.groups == tuple(many[: len(user.groups)])
    assert user.email_verified is True  # some providers send the boolean as a string
    cyrillic = "Ольга" * 8  # 40 characters, 240 as sealed
    assert upstream_user(mapping, {**CLAIMS, "name": cyrillic}).name == ""
    assert upstream_user(mapping, {**CLAIMS, "name": cyrillic[:30]}).name == cyrillic[:30]


def test_the_largest_user_still_fits_the_sign_in_cookie() -> None:
    large = {
        **CLAIMS,
        **dict.fromkeys(("preferred_username", "name", "given_name"), "é" * 33),
        **dict.fromkeys(("family_name", "email"), "x" * 200),
        "groups": [f"{index:03d}" + "g" * 60 for index in range(20)],
    }
    user = upstream_user(UserMapping("a" * 40, "preferred_username"), large)
    logon = Logon(user.subject, user.username, user.name, UPSTREAM_PROVIDER, 1, "s" * 32, 1, user)
    cookie = BrowserCookies(
        Sealer(bytes(32)), CookiePolicy(True), Endpoints("https://konnect.example")
    ).logon(logon)
    assert len(cookie.name) + len(cookie.value or "") < 4000


def test_the_keys_are_read_and_unknown_user_fields_named() -> None:
    entry = {
        "name": "partner",
        "iss": "https://idp.example.com",
        "client_id": "konnect",
        "allow_upstream_only_users": True,
        "upstream_user_claims": {"username": "upn"},
    }
    (authority,) = read_authorities([("r.yaml:3", entry)])
    mapping = authority.user_mapping
    assert mapping.upstream_only_users is True
    assert mapping.claim_for("username") == "upn"
    assert (
        read_authorities([("r.yaml:3", {**entry, "allow_upstream_only_users": None})])[
            0
        ].allow_upstream_only_users
        is False
    )
    wrong = {**entry, "allow_upstream_only_users": "sure", "upstream_user_claims": {"sub": "x"}}
    with pytest.raises(ConfigError) as caught:
        read_authorities([("r.yaml:3", wrong)])
    assert caught.value.problems == [
        "r.yaml:3: authority 'partner': allow_upstream_only_users must be yes or no",
        "r.yaml:3: authority 'partner': upstream_user_claims: unknown user fields sub",
    ]
