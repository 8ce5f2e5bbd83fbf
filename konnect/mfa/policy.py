"""Which level of sign-in a request needs, and whether a sign-in meets it. No I/O.

Levels: `optional` (users who have a second factor use it) and `required` (everyone does,
enrolling one if they have none). The required level is the strictest of the global setting,
the user's groups, the client's registry entry and a level the request itself asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OPTIONAL = "optional"
REQUIRED = "required"
#: RFC 8176 methods a verified second factor adds to the password's `pwd`. A recovery code
#: is a one-time password too (NIST calls it a look-up secret), so it also counts as `otp`.
SECOND_FACTOR_AMR = ("otp",)
#: How long a pending sign-in (password right, second factor not yet given) lasts.
PENDING_MAX_AGE = 300


@dataclass(frozen=True)
class MfaPolicy:
    """The operator's MFA settings; `mode` is never `off` here (MFA off builds none)."""

    mode: str = OPTIONAL
    methods: tuple[str, ...] = ("totp", "recovery")
    required_groups: frozenset[str] = frozenset()
    max_age: int = 43_200
    enrol_at_sign_in: bool = True
    #: Sign-ins made elsewhere that count as multi-factor: "forwarded_user", "cookie".
    satisfied_by: frozenset[str] = frozenset()


def required_level(
    policy: MfaPolicy,
    groups: Iterable[str],
    client_level: str = "",
    requested_level: str = "",
) -> str:
    """The strictest of the global mode, the groups, the client's `mfa:` and a level the
    request asks for (an essential `acr`, say): `required` or `optional`."""
    if REQUIRED in (policy.mode, client_level, requested_level):
        return REQUIRED
    if policy.required_groups.intersection(groups):
        return REQUIRED
    return OPTIONAL


def second_factor_current(amr: Iterable[str], mfa_time: int, now: int, max_age: int) -> bool:
    """Whether a sign-in includes a second factor verified within `max_age` seconds."""
    return "mfa" in amr and 0 < mfa_time <= now and now - mfa_time <= max_age


def with_second_factor(
    amr: Iterable[str], added: Iterable[str] = SECOND_FACTOR_AMR
) -> tuple[str, ...]:
    """The methods of a sign-in after a verified second factor (by default a one-time code;
    `added` names what another factor proved), ending with `mfa`."""
    methods = [method for method in dict.fromkeys(amr) if method != "mfa"]
    methods += [method for method in added if method not in methods]
    return (*methods, "mfa")
