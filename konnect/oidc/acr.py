"""Authentication levels: what the methods of a sign-in (`amr`, RFC 8176) are worth as an
authentication context class (`acr`), which level a request asks for, and which `acr` value
its tokens report.

The levels, weakest first: `https://refeds.org/profile/sfa` (any sign-in),
`https://refeds.org/profile/mfa` (a second factor, or a verified passkey) and `phr`
(phishing-resistant, OpenID EAP ACR Values: multi-factor with a key bound to the origin).
Operators may give relying parties names of their own for them (`acr_alias`).

`acr_values`, a client's `default_acr_values` and a non-essential `acr` claim are voluntary
(Core §3.1.2.1): the tokens report the level the sign-in met. An essential `acr` claim (Core
§5.5.1.1) is a demand (`requested_level`): one konnect cannot meet at all, or that the sign-in
did not meet, answers `unmet_authentication_requirements` (OpenID Connect Core Unmet
Authentication Requirements 1.0). Tokens carry `acr` (and then `auth_time`) only when the
request or the client asked for an acr, so relying parties that never ask see no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from konnect.config.model import ACR_LEVELS
from konnect.oidc.errors import OAuthError

SFA, MFA, PHR = ACR_LEVELS
UNMET = "unmet_authentication_requirements"
#: RFC 8176 §2: proof of possession of a key (WebAuthn: bound to konnect's origin).
_KEY_METHODS = frozenset({"hwk", "swk", "pop"})


def level_of(amr: Iterable[str]) -> str:
    """The level the methods of a sign-in reach: `mfa` among them (two factors, or a passkey
    that verified its user) is multi-factor, and with an origin-bound key among them it is
    phishing-resistant (a phished password or code alone signs nobody in). A sign-in whose
    methods konnect did not see (upstream, proxy or cookie-backend sign-ins record none)
    counts as single-factor."""
    methods = set(amr)
    if "mfa" not in methods:
        return SFA
    return PHR if methods & _KEY_METHODS else MFA


def rank(level: str) -> int:
    return ACR_LEVELS.index(level)


def _empty_aliases() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class AcrPolicy:
    """The acr values konnect understands and the strongest level it can reach."""

    # An operator's name -> the level it stands for.
    aliases: Mapping[str, str] = field(default_factory=_empty_aliases)
    # No sign-in reaches more than this; a second factor raises it.
    reachable: str = SFA

    @classmethod
    def from_words(cls, words: Iterable[str], reachable: str = SFA) -> AcrPolicy:
        """The policy of `NAME=LEVEL` words (checked when the configuration is loaded)."""
        aliases = {name: level for name, _, level in (word.partition("=") for word in words)}
        return cls(MappingProxyType(aliases), reachable)

    def level(self, value: str) -> str | None:
        """The level an acr value names (a level or an alias); None when unknown."""
        return value if value in ACR_LEVELS else self.aliases.get(value)

    @property
    def supported(self) -> tuple[str, ...]:
        return (*ACR_LEVELS, *self.aliases)


@dataclass(frozen=True)
class AcrRequest:
    """What an authorization request asks about the acr, read once."""

    # Whether tokens report an acr: acr_values, default_acr_values or an acr claim asked.
    asked: bool = False
    # The acr values asked for, in the client's order: their spelling is reported.
    values: tuple[str, ...] = ()
    # The level an essential acr claim demands.
    required: str | None = None


def _acr_claim(claims_request: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ID token's `acr` entry of a claims request ({} for `"acr": null`), or None."""
    id_token = claims_request.get("id_token") if claims_request else None
    if not isinstance(id_token, dict) or "acr" not in id_token:
        return None
    entry = id_token["acr"]
    return entry if isinstance(entry, dict) else {}


def _claim_values(entry: Mapping[str, Any]) -> tuple[str, ...]:
    if "value" in entry:
        values = [entry["value"]]
    else:
        listed = entry.get("values")
        values = listed if isinstance(listed, list) else []
    return tuple(value for value in values if isinstance(value, str))


def requested_level(claims_request: Mapping[str, Any] | None, policy: AcrPolicy) -> str | None:
    """The level an essential `acr` claim demands (Core §5.5.1.1), None when none does.

    Any one of its values satisfies it, so the weakest known one counts; an essential claim
    without values is met by any sign-in. When konnect cannot meet it at all (no value it
    knows, or a level no sign-in here reaches) it raises `unmet_authentication_requirements`.
    """
    entry = _acr_claim(claims_request)
    if entry is None or entry.get("essential") is not True:
        return None
    if "value" not in entry and "values" not in entry:
        return None
    levels = [level for level in map(policy.level, _claim_values(entry)) if level is not None]
    if not levels:
        raise OAuthError(UNMET, "none of the essential acr values is supported")
    required = min(levels, key=rank)
    if rank(required) > rank(policy.reachable):
        raise OAuthError(UNMET, "the essential acr cannot be met by any sign-in here")
    return required


def acr_request(
    acr_values: str | None,
    claims_request: Mapping[str, Any] | None,
    default_acr_values: Sequence[str],
    policy: AcrPolicy,
) -> AcrRequest:
    """The request's acr wishes: `acr_values` (else the client's defaults) and the acr claim."""
    asked = tuple(acr_values.split()) if acr_values is not None else tuple(default_acr_values)
    entry = _acr_claim(claims_request)
    claimed = _claim_values(entry) if entry is not None else ()
    return AcrRequest(
        asked=bool(asked) or entry is not None,
        values=tuple(dict.fromkeys((*asked, *claimed))),
        required=requested_level(claims_request, policy),
    )


def second_factor_demanded(required: str | None) -> bool:
    """Whether an essential acr can only be met with a second factor (or more)."""
    return required is not None and rank(required) >= rank(MFA)


def check_met(achieved: str, required: str | None) -> None:
    """An essential acr the sign-in did not meet ends the request (no silent downgrade)."""
    if required is not None and rank(achieved) < rank(required):
        raise OAuthError(UNMET, "the sign-in does not meet the essential acr")


def reported_acr(achieved: str, requested: Sequence[str], policy: AcrPolicy) -> str:
    """The acr a token reports: the level met, in the first spelling the client asked for it
    (an alias it knows), else as the level itself."""
    for value in requested:
        if policy.level(value) == achieved:
            return value
    return achieved
