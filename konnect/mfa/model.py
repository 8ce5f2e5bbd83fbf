"""What the credential store keeps: accounts, their factors and the account's own state."""

from __future__ import annotations

from dataclasses import dataclass

#: Factor kinds: authenticator apps, recovery codes, and WebAuthn credentials (security keys
#: and passkeys).
KIND_TOTP = "totp"
KIND_RECOVERY = "recovery"
KIND_WEBAUTHN = "webauthn"


@dataclass(frozen=True)
class Account:
    """A user as the store keys it: the identity backend's name and its raw subject."""

    backend: str
    subject: str


@dataclass(frozen=True)
class RowRef:
    """One factor's row: what its sealed secret is bound to."""

    kind: str
    account: Account
    id: str


@dataclass(frozen=True)
class Factor:
    """A stored factor. `secret` is sealed to its row; `counter` is the last accepted TOTP
    step (or an authenticator's signature counter): it only ever grows."""

    ref: RowRef
    name: str
    secret: str
    created: int
    last_used: int = 0
    counter: int = -1


@dataclass(frozen=True)
class AccountState:
    """Per-account state that must outlive any expiry: consecutive failures, the lock an
    administrator lifts, and the epoch that a reset of the factors may raise."""

    failures: int = 0
    locked: bool = False
    epoch: int = 0
