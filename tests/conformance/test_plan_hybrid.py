"""Hybrid OP (oidcc-hybrid-certification-test-plan): one test per module, per response type."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance import modules
from tests.conformance.harness import Conformance, Profile

pytestmark = pytest.mark.conformance("oidcc-hybrid-certification-test-plan")

PROFILES = [Profile("code id_token"), Profile("code token"), Profile("code id_token token")]


@pytest.fixture(params=PROFILES, ids=str)
def profile(request: pytest.FixtureRequest) -> Profile:
    chosen: Profile = request.param
    return chosen


def test_oidcc_server(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_server(conf, browser, profile)


def test_oidcc_response_type_missing(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_response_type_missing(conf, browser, profile)


def test_oidcc_idtoken_signature(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_idtoken_signature(conf, browser, profile)


def test_oidcc_userinfo_get(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_userinfo_get(conf, browser, profile)


def test_oidcc_userinfo_post_header(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_userinfo_post_header(conf, browser, profile)


def test_oidcc_userinfo_post_body(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_userinfo_post_body(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code token")], ids=str)
def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_without_nonce_succeeds_for_code_flow(conf, browser, profile)


def test_oidcc_scope_profile(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_scope_profile(conf, browser, profile)


def test_oidcc_scope_email(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_scope_email(conf, browser, profile)


def test_oidcc_alternate_happy_flow(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_alternate_happy_flow(conf, browser, profile)


def test_oidcc_display_page(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_display_page(conf, browser, profile)


def test_oidcc_display_popup(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_display_popup(conf, browser, profile)


def test_oidcc_prompt_login(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_prompt_login(conf, browser, profile)


def test_oidcc_prompt_none_not_logged_in(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_prompt_none_not_logged_in(conf, browser, profile)


def test_oidcc_prompt_none_logged_in(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_prompt_none_logged_in(conf, browser, profile)


def test_oidcc_max_age_1(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_max_age_1(conf, browser, profile)


def test_oidcc_max_age_10000(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_max_age_10000(conf, browser, profile)


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_with_unknown_parameter_succeeds(conf, browser, profile)


def test_oidcc_id_token_hint(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_id_token_hint(conf, browser, profile)


def test_oidcc_login_hint(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_login_hint(conf, browser, profile)


def test_oidcc_ui_locales(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_ui_locales(conf, browser, profile)


def test_oidcc_claims_locales(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_claims_locales(conf, browser, profile)


def test_oidcc_ensure_request_with_acr_values_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_with_acr_values_succeeds(conf, browser, profile)


def test_oidcc_codereuse(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_codereuse(conf, browser, profile)


def test_oidcc_codereuse_30seconds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_codereuse_30seconds(conf, browser, profile)


def test_oidcc_ensure_registered_redirect_uri(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_registered_redirect_uri(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_server_client_secret_post(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_server_client_secret_post(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
        conf, browser, profile
    )


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
        conf, browser, profile
    )


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_claims_essential(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_claims_essential(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_ensure_request_object_with_redirect_uri(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_object_with_redirect_uri(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_refresh_token(conf: Conformance, browser: httpx.Client, profile: Profile) -> None:
    modules.oidcc_refresh_token(conf, browser, profile)


@pytest.mark.parametrize("profile", [Profile("code id_token")], ids=str)
def test_oidcc_ensure_request_with_valid_pkce_succeeds(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_with_valid_pkce_succeeds(conf, browser, profile)


@pytest.mark.parametrize(
    "profile", [Profile("code id_token"), Profile("code id_token token")], ids=str
)
def test_oidcc_ensure_request_without_nonce_fails(
    conf: Conformance, browser: httpx.Client, profile: Profile
) -> None:
    modules.oidcc_ensure_request_without_nonce_fails(conf, browser, profile)
