"""The OpenID Foundation OP test plans konnect is held to: each plan's modules, and the ones
that do not apply to konnect with the reason. The plan files hold one test per applicable
module, named after it; `scripts/conformance-table` counts them."""

from __future__ import annotations

from dataclasses import dataclass, field

NO_ADDRESS_PHONE = (
    "konnect has no address or phone claims and does not advertise those scopes; "
    "the suite skips the module then"
)
NO_DYNAMIC_NONE = (
    "needs dynamic registration of a client with id_token_signed_response_alg none; "
    "konnect never issues unsigned ID tokens (not advertised)"
)


@dataclass(frozen=True)
class Plan:
    """One conformance test plan and how konnect stands against it."""

    name: str
    title: str
    test_file: str
    modules: tuple[str, ...]
    not_applicable: dict[str, str] = field(default_factory=dict)

    @property
    def applicable(self) -> tuple[str, ...]:
        return tuple(name for name in self.modules if name not in self.not_applicable)


CODE_MODULES = (
    "oidcc-server",
    "oidcc-response-type-missing",
    "oidcc-idtoken-signature",
    "oidcc-idtoken-unsigned",
    "oidcc-userinfo-get",
    "oidcc-userinfo-post-header",
    "oidcc-userinfo-post-body",
    "oidcc-ensure-request-without-nonce-succeeds-for-code-flow",
    "oidcc-scope-profile",
    "oidcc-scope-email",
    "oidcc-scope-address",
    "oidcc-scope-phone",
    "oidcc-scope-all",
    "oidcc-alternate-happy-flow",
    "oidcc-display-page",
    "oidcc-display-popup",
    "oidcc-prompt-login",
    "oidcc-prompt-none-not-logged-in",
    "oidcc-prompt-none-logged-in",
    "oidcc-max-age-1",
    "oidcc-max-age-10000",
    "oidcc-ensure-request-with-unknown-parameter-succeeds",
    "oidcc-id-token-hint",
    "oidcc-login-hint",
    "oidcc-ui-locales",
    "oidcc-claims-locales",
    "oidcc-ensure-request-with-acr-values-succeeds",
    "oidcc-codereuse",
    "oidcc-codereuse-30seconds",
    "oidcc-ensure-registered-redirect-uri",
    "oidcc-ensure-post-request-succeeds",
    "oidcc-server-client-secret-post",
    "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
    "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
    "oidcc-claims-essential",
    "oidcc-ensure-request-object-with-redirect-uri",
    "oidcc-refresh-token",
    "oidcc-ensure-request-with-valid-pkce-succeeds",
)
CODE_NOT_APPLICABLE = {
    "oidcc-idtoken-unsigned": NO_DYNAMIC_NONE,
    "oidcc-scope-address": NO_ADDRESS_PHONE,
    "oidcc-scope-phone": NO_ADDRESS_PHONE,
    "oidcc-scope-all": NO_ADDRESS_PHONE,
}
IMPLICIT_MODULES = (
    "oidcc-server",
    "oidcc-idtoken-signature",
    "oidcc-ensure-request-without-nonce-fails",
    "oidcc-scope-profile",
    "oidcc-scope-email",
    "oidcc-scope-address",
    "oidcc-scope-phone",
    "oidcc-scope-all",
    "oidcc-alternate-happy-flow",
    "oidcc-display-page",
    "oidcc-display-popup",
    "oidcc-prompt-login",
    "oidcc-prompt-none-not-logged-in",
    "oidcc-prompt-none-logged-in",
    "oidcc-max-age-1",
    "oidcc-max-age-10000",
    "oidcc-ensure-request-with-unknown-parameter-succeeds",
    "oidcc-id-token-hint",
    "oidcc-login-hint",
    "oidcc-ui-locales",
    "oidcc-claims-locales",
    "oidcc-ensure-request-with-acr-values-succeeds",
    "oidcc-ensure-registered-redirect-uri",
    "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
    "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
    "oidcc-ensure-request-object-with-redirect-uri",
    "oidcc-claims-essential",
    "oidcc-userinfo-get",
    "oidcc-userinfo-post-header",
    "oidcc-userinfo-post-body",
    "oidcc-response-type-missing",
)
HYBRID_MODULES = (
    *(
        name
        for name in CODE_MODULES
        if name not in ("oidcc-idtoken-unsigned", "oidcc-ensure-post-request-succeeds")
    ),
    "oidcc-ensure-request-without-nonce-fails",
)
DYNAMIC_MODULES = (
    "oidcc-idtoken-rs256",
    "oidcc-idtoken-unsigned",
    "oidcc-userinfo-rs256",
    "oidcc-ensure-redirect-uri-in-authorization-request",
    "oidcc-redirect-uri-query-OK",
    "oidcc-redirect-uri-query-mismatch",
    "oidcc-redirect-uri-query-added",
    "oidcc-redirect-uri-regfrag",
    "oidcc-discovery-endpoint-verification",
    "oidcc-server",
    "oidcc-registration-logo-uri",
    "oidcc-registration-policy-uri",
    "oidcc-registration-tos-uri",
    "oidcc-registration-jwks-uri",
    "oidcc-registration-sector-uri",
    "oidcc-registration-sector-bad",
    "oidcc-server-rotate-keys",
    "oidcc-refresh-token-rp-key-rotation",
    "oidcc-request-uri-unsigned",
    "oidcc-request-uri-signed-rs256",
    "oidcc-ensure-request-object-with-redirect-uri",
    "oidcc-refresh-token",
    "oidcc-ensure-client-assertion-with-iss-aud-succeeds",
)
NO_PAIRWISE = (
    "konnect issues public subject identifiers only (subject_types_supported is [public]); "
    "the suite skips the module unless pairwise is advertised"
)
DYNAMIC_NOT_APPLICABLE = {
    "oidcc-idtoken-unsigned": NO_DYNAMIC_NONE,
    "oidcc-registration-sector-uri": NO_PAIRWISE,
    "oidcc-registration-sector-bad": NO_PAIRWISE,
}
NO_ADDRESS_PHONE_ONLY = {
    name: reason for name, reason in CODE_NOT_APPLICABLE.items() if "scope" in name
}

PLANS = (
    Plan(
        "oidcc-basic-certification-test-plan",
        "Basic OP",
        "test_plan_basic.py",
        CODE_MODULES,
        CODE_NOT_APPLICABLE,
    ),
    Plan(
        "oidcc-implicit-certification-test-plan",
        "Implicit OP",
        "test_plan_implicit.py",
        IMPLICIT_MODULES,
        NO_ADDRESS_PHONE_ONLY,
    ),
    Plan(
        "oidcc-hybrid-certification-test-plan",
        "Hybrid OP",
        "test_plan_hybrid.py",
        HYBRID_MODULES,
        NO_ADDRESS_PHONE_ONLY,
    ),
    Plan(
        "oidcc-config-certification-test-plan",
        "Config OP",
        "test_plan_config.py",
        ("oidcc-discovery-endpoint-verification",),
    ),
    Plan(
        "oidcc-dynamic-certification-test-plan",
        "Dynamic OP",
        "test_plan_dynamic.py",
        DYNAMIC_MODULES,
        DYNAMIC_NOT_APPLICABLE,
    ),
    Plan(
        "oidcc-formpost-basic-certification-test-plan",
        "Form Post OP",
        "test_plan_form_post.py",
        CODE_MODULES,
        CODE_NOT_APPLICABLE,
    ),
    Plan(
        "oidcc-rp-initiated-logout-certification-test-plan",
        "RP-Initiated Logout OP",
        "test_plan_rp_initiated_logout.py",
        (
            "oidcc-rp-initiated-logout-discovery-endpoint-verification",
            "oidcc-rp-initiated-logout",
            "oidcc-rp-initiated-logout-bad-post-logout-redirect-uri",
            "oidcc-rp-initiated-logout-modified-id-token-hint",
            "oidcc-rp-initiated-logout-no-id-token-hint",
            "oidcc-rp-initiated-logout-no-params",
            "oidcc-rp-initiated-logout-no-post-logout-redirect-uri",
            "oidcc-rp-initiated-logout-no-state",
            "oidcc-rp-initiated-logout-only-state",
            "oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri",
            "oidcc-rp-initiated-logout-bad-id-token-hint",
        ),
    ),
    Plan(
        "oidcc-session-management-certification-test-plan",
        "Session Management OP",
        "test_plan_session_management.py",
        (
            "oidcc-session-management-discovery-endpoint-verification",
            "oidcc-session-management-rp-initiated-logout",
        ),
    ),
    Plan(
        "oidcc-frontchannel-rp-initiated-logout-certification-test-plan",
        "Front-Channel Logout OP",
        "test_plan_frontchannel_logout.py",
        (
            "oidcc-frontchannel-logout-discovery-endpoint-verification",
            "oidcc-frontchannel-rp-initiated-logout",
        ),
    ),
    Plan(
        "oidcc-backchannel-rp-initiated-logout-certification-test-plan",
        "Back-Channel Logout OP",
        "test_plan_backchannel_logout.py",
        (
            "oidcc-backchannel-logout-discovery-endpoint-verification",
            "oidcc-backchannel-rp-initiated-logout",
        ),
    ),
)


def module_test_name(module: str) -> str:
    return "test_" + module.replace("-", "_").lower()
