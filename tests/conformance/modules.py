"""The modules of the Basic, Implicit, Hybrid and Form Post OP plans, one function each,
named after the module and asserting what it asserts; the plan files run them per profile."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import httpx

from tests.conformance.flow import Flow, finish_flow, run_flow
from tests.conformance.harness import (
    CLIENT_ID,
    REDIRECT_URI,
    REQUEST_OBJECT_PATH,
    SECOND_CLIENT_ID,
    SECOND_CLIENT_SECRET,
    Conformance,
    Profile,
    Response,
)

PROFILE_CLAIMS = ("name", "given_name", "family_name", "preferred_username")
EMAIL_CLAIMS = ("email", "email_verified")


def returned_claims(conf: Conformance, flow: Flow) -> dict[str, Any]:
    """Claims the client got: the ID token's, plus userinfo's when it has an access token."""
    claims = dict(flow.claims)
    if flow.access_token:
        response = conf.userinfo(flow.access_token)
        assert response.status_code == 200, response.text
        claims.update(response.json())
    return claims


def expect_error(conf: Conformance, profile: Profile, response: Response, *errors: str) -> None:
    conf.check_channel(profile, response)
    assert response["error"] in errors, response.params
    assert response.get("state") == "conformance-state"


def oidcc_server(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    flow = run_flow(conf, browser, profile, expect_login=True)
    assert flow.claims["sub"]


def oidcc_server_client_secret_post(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    assert "client_secret_post" in conf.meta["token_endpoint_auth_methods_supported"]
    flow = run_flow(conf, browser, profile, post_auth=True)
    assert flow.access_token


def oidcc_response_type_missing(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    params = conf.request(profile, response_type="-")
    response = conf.open_authorize(browser, params)
    if response.status_code == 400:  # an error page is acceptable too
        assert "location" not in response.headers
        return
    delivered = conf.delivered(response)
    assert delivered["error"] in ("invalid_request", "unsupported_response_type")
    assert delivered.get("state") == "conformance-state"


def oidcc_idtoken_signature(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    flow = run_flow(conf, browser, profile)
    assert flow.id_token
    header, _ = conf.decode_id_token(flow.id_token)
    assert header["kid"] in {key["kid"] for key in conf.fetch_jwks()["keys"]}
    tampered = flow.id_token[:-4] + ("AAAA" if not flow.id_token.endswith("AAAA") else "BBBB")
    try:
        conf.decode_id_token(tampered)
    except Exception:
        return
    raise AssertionError("a tampered ID token verified")


def check_userinfo(conf: Conformance, flow: Flow, how: str) -> None:
    assert flow.access_token
    response = conf.userinfo(flow.access_token, how)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["sub"] == flow.claims["sub"]


def oidcc_userinfo_get(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    check_userinfo(conf, run_flow(conf, browser, profile), "get")


def oidcc_userinfo_post_header(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    check_userinfo(conf, run_flow(conf, browser, profile), "post")


def oidcc_userinfo_post_body(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    check_userinfo(conf, run_flow(conf, browser, profile), "body")


def oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    flow = run_flow(conf, browser, profile, nonce="-")
    assert "nonce" not in flow.claims


def oidcc_ensure_request_without_nonce_fails(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    conf.sign_in(browser)
    response = conf.open_authorize(browser, conf.request(profile, nonce="-"))
    if response.status_code == 400:
        assert "location" not in response.headers
        return
    expect_error(conf, profile, conf.delivered(response), "invalid_request")


def check_scope_claims(claims: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        assert name in claims, f"{name} missing"


def oidcc_scope_profile(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    flow = run_flow(conf, browser, profile, scope="openid profile")
    check_scope_claims(returned_claims(conf, flow), PROFILE_CLAIMS)


def oidcc_scope_email(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    flow = run_flow(conf, browser, profile, scope="openid email")
    claims = returned_claims(conf, flow)
    check_scope_claims(claims, EMAIL_CLAIMS)
    assert claims["email_verified"] is True


def oidcc_alternate_happy_flow(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    base = conf.request(profile, scope="email openid")
    reordered = dict(reversed(list(base.items())))
    response = conf.authorize(browser, reordered)
    flow = finish_flow(conf, profile, reordered, response)
    check_scope_claims(returned_claims(conf, flow), EMAIL_CLAIMS)


def oidcc_display_page(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    run_flow(conf, browser, profile, display="page", expect_login=True)


def oidcc_display_popup(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    run_flow(conf, browser, profile, display="popup", expect_login=True)


def oidcc_prompt_login(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    first = run_flow(conf, browser, profile, expect_login=True)
    conf.clock.advance(2)
    second = run_flow(conf, browser, profile, prompt="login", expect_login=True)
    assert second.claims["sub"] == first.claims["sub"]
    if "auth_time" in first.claims:
        assert second.claims["auth_time"] > first.claims["auth_time"]


def oidcc_prompt_none_not_logged_in(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    response = conf.open_authorize(browser, conf.request(profile, prompt="none"))
    expected = ("login_required", "interaction_required", "account_selection_required")
    expect_error(conf, profile, conf.delivered(response), *expected)


def oidcc_prompt_none_logged_in(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    first = run_flow(conf, browser, profile, expect_login=True)
    second = run_flow(conf, browser, profile, prompt="none", expect_login=False)
    assert second.claims["sub"] == first.claims["sub"]


def oidcc_max_age_1(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    first = run_flow(conf, browser, profile, expect_login=True)
    conf.clock.advance(2)
    second = run_flow(conf, browser, profile, max_age="1", expect_login=True)
    assert second.claims["sub"] == first.claims["sub"]
    assert second.claims["auth_time"] >= int(conf.clock()) - 5
    if "auth_time" in first.claims:
        assert second.claims["auth_time"] > first.claims["auth_time"]


def oidcc_max_age_10000(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    first = run_flow(conf, browser, profile, expect_login=True)
    second = run_flow(conf, browser, profile, max_age="10000", expect_login=False)
    assert second.claims["sub"] == first.claims["sub"]
    if "auth_time" in first.claims:
        assert second.claims["auth_time"] == first.claims["auth_time"]


def oidcc_ensure_request_with_unknown_parameter_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    run_flow(conf, browser, profile, extra="foobar")


def oidcc_id_token_hint(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    first = run_flow(conf, browser, profile, expect_login=True)
    assert first.id_token
    second = run_flow(
        conf, browser, profile, prompt="none", id_token_hint=first.id_token, expect_login=False
    )
    assert second.claims["sub"] == first.claims["sub"]
    if "auth_time" in first.claims or "auth_time" in second.claims:
        assert second.claims["auth_time"] == first.claims["auth_time"]


def oidcc_login_hint(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    run_flow(conf, browser, profile, login_hint="alice", expect_login=True)


def oidcc_ui_locales(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    run_flow(conf, browser, profile, ui_locales="se", expect_login=True)


def oidcc_claims_locales(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    run_flow(conf, browser, profile, claims_locales="se", expect_login=True)


def oidcc_ensure_request_with_acr_values_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    run_flow(conf, browser, profile, acr_values="1 2", expect_login=True)


def reuse_code(conf: Conformance, browser: httpx.Client, profile: Profile, wait: float) -> None:
    flow = run_flow(conf, browser, profile)
    assert flow.access_token
    conf.clock.advance(wait)
    again = conf.token(flow.response["code"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # the tokens issued for the reused code are revoked (RFC 6749 section 4.1.2)
    assert conf.userinfo(flow.access_token).status_code == 401


def oidcc_codereuse(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    reuse_code(conf, browser, profile, 0)


def oidcc_codereuse_30seconds(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    reuse_code(conf, browser, profile, 30)


def oidcc_ensure_registered_redirect_uri(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    params = conf.request(profile, redirect_uri="https://attacker.example.com/cb")
    response = conf.open_authorize(browser, params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "attacker.example.com" not in response.text


def oidcc_ensure_post_request_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    run_flow(conf, browser, profile, method="POST", expect_login=True)


def oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    assert conf.meta["request_uri_parameter_supported"] is True
    assert conf.request_objects is not None
    params = conf.request(profile)
    claims = {**params, "iss": CLIENT_ID, "aud": conf.meta["issuer"]}
    conf.request_objects.documents[REQUEST_OBJECT_PATH] = unsigned_request_object(claims)
    outer = {
        "client_id": CLIENT_ID,
        "redirect_uri": params["redirect_uri"],
        "response_type": profile.response_type,
        "scope": "openid",
        "request_uri": conf.request_objects.url + REQUEST_OBJECT_PATH,
    }
    if profile.response_mode:
        outer["response_mode"] = profile.response_mode
    finish_flow(conf, profile, params, conf.authorize(browser, outer))


def unsigned_request_object(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none"}) + "." + part(claims) + "."


def oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    assert "none" in conf.meta["request_object_signing_alg_values_supported"]
    params = conf.request(profile)
    request = unsigned_request_object({**params, "iss": CLIENT_ID, "aud": conf.meta["issuer"]})
    outer = {
        "client_id": CLIENT_ID,
        "response_type": profile.response_type,
        "scope": "openid",
        "redirect_uri": REDIRECT_URI,
        "request": request,
    }
    if profile.response_mode:
        outer["response_mode"] = profile.response_mode
    response = conf.authorize(browser, outer)
    finish_flow(conf, profile, params, response)


def oidcc_ensure_request_object_with_redirect_uri(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    params = conf.request(profile)
    request = unsigned_request_object({**params, "iss": CLIENT_ID, "aud": conf.meta["issuer"]})
    outer = {
        "client_id": CLIENT_ID,
        "response_type": profile.response_type,
        "scope": "openid",
        "request": request,
    }
    if profile.response_mode:
        outer["response_mode"] = profile.response_mode
    response = conf.authorize(browser, outer)
    finish_flow(conf, profile, params, response)


def oidcc_claims_essential(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    assert conf.meta["claims_parameter_supported"] is True
    target = "userinfo" if profile.types != {"id_token"} else "id_token"
    claims = json.dumps({target: {"name": {"essential": True}}})
    flow = run_flow(conf, browser, profile, claims=claims)
    assert returned_claims(conf, flow)["name"] == "Alice Liddell"


def oidcc_refresh_token(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    flow = run_flow(conf, browser, profile, scope="openid offline_access")
    assert flow.refresh_token
    endpoint = conf.meta["token_endpoint"]
    stolen = httpx.post(
        endpoint,
        data={"grant_type": "refresh_token", "refresh_token": flow.refresh_token},
        auth=(SECOND_CLIENT_ID, SECOND_CLIENT_SECRET),
    )
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    refreshed = httpx.post(
        endpoint,
        data={"grant_type": "refresh_token", "refresh_token": flow.refresh_token},
        auth=(CLIENT_ID, "conformance-secret-1"),
    )
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["access_token"] != flow.access_token
    if "id_token" in body:
        claims = conf.validate_id_token(body["id_token"], nonce=None)
        for name in ("iss", "sub", "aud"):
            assert claims[name] == flow.claims[name]
        if "auth_time" in flow.claims:
            assert claims["auth_time"] == flow.claims["auth_time"]
    assert conf.userinfo(body["access_token"]).status_code == 200


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 code challenge (RFC 7636 §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def oidcc_ensure_request_with_valid_pkce_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    verifier, challenge = pkce()
    params = conf.request(profile, code_challenge=challenge, code_challenge_method="S256")
    response = conf.authorize(browser, params)
    assert "error" not in response.params
    tokens = httpx.post(
        conf.meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": response["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, "conformance-secret-1"),
    )
    assert tokens.status_code == 200, tokens.text
    conf.validate_id_token(tokens.json()["id_token"])
