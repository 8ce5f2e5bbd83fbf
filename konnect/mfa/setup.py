"""Building the MFA services from Settings, when MFA is on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from konnect.config.model import Settings
from konnect.mfa.factors import SecondFactors
from konnect.mfa.policy import MfaPolicy
from konnect.mfa.sealing import FactorSealer, derive_mfa_secret, load_previous_mfa_secret
from konnect.mfa.stores import default_credential_store, open_credential_store
from konnect.state import StateStore


def mfa_policy(settings: Settings) -> MfaPolicy:
    return MfaPolicy(
        mode=settings.mfa,
        methods=settings.mfa_methods,
        required_groups=frozenset(settings.mfa_required_groups),
        max_age=settings.mfa_max_age,
        enrol_at_sign_in=settings.mfa_enrolment == "at_sign_in",
        satisfied_by=frozenset(settings.mfa_satisfied_by),
    )


def build_second_factors(
    settings: Settings,
    state: StateStore,
    state_file: Path | None,
    clock: Callable[[], float],
) -> SecondFactors:
    """The policy, the credential store (opened and migrated now) and the factor sealer;
    raises ConfigError when one of them cannot be built."""
    secret = derive_mfa_secret(settings.mfa_key, settings.encryption_secret)
    sealer = FactorSealer(secret, load_previous_mfa_secret(settings.mfa_previous_key))
    spec = settings.credential_store or default_credential_store(settings.state_store)
    credentials = open_credential_store(spec, state_file)
    factors = SecondFactors(mfa_policy(settings), credentials, sealer, state, clock)
    if "webauthn" in settings.mfa_methods:
        from konnect.mfa.passkeys import Passkeys, RelyingParty

        rp = RelyingParty.for_issuer(
            settings.issuer, settings.webauthn_rp_id, settings.webauthn_origins
        )
        factors.passkeys = Passkeys(factors, rp, clock)
    return factors
