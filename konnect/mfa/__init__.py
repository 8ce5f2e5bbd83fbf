"""Multi-factor sign-in: second factors, where they are kept and how they are checked.

Owns the TOTP algorithm (RFC 6238), recovery codes, WebAuthn ceremonies (security keys and
passkeys, `webauthn` and `passkeys`), the sealing of factor secrets bound to their row, the
`CredentialStore` seam (memory, SQLite; more schemes register in `stores`), failure counting
and lockout, and the policy that says which level a sign-in needs. Third-party packages
(segno for QR codes, py_webauthn) are imported only when MFA is on.

Sits beside `state` and `identity`: may import config, crypto, state and konnect.threads;
`oidc` and `identifier` import it, never the other way round.
"""

from konnect.mfa.model import RowRef
from konnect.mfa.recovery import RECOVERY_CODE_COUNT, new_recovery_codes, normalise_recovery_code
from konnect.mfa.sealing import FactorSealer, derive_mfa_secret
from konnect.mfa.store import (
    KIND_RECOVERY,
    KIND_TOTP,
    Account,
    AccountState,
    CredentialStore,
    Factor,
)
from konnect.mfa.totp import TOTP_SEED_SIZE, new_totp_seed, totp_code, totp_step, verify_totp

__all__ = [
    "KIND_RECOVERY",
    "KIND_TOTP",
    "RECOVERY_CODE_COUNT",
    "TOTP_SEED_SIZE",
    "Account",
    "AccountState",
    "CredentialStore",
    "Factor",
    "FactorSealer",
    "RowRef",
    "derive_mfa_secret",
    "new_recovery_codes",
    "new_totp_seed",
    "normalise_recovery_code",
    "totp_code",
    "totp_step",
    "verify_totp",
]
