"""The account epoch in sign-ins and grants: a sign-in records the epoch of its account, and
a sign-in or grant recorded under an older epoch than the account's now has ended (a reset of
the user's factors raised it, on any instance: the credential store is shared).

Only with multi-factor sign-in on, and only for users of the identity backend: with it off
nothing here reads a store, and guests and upstream-only users have no account to reset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.session import Logon

if TYPE_CHECKING:  # konnect.mfa is imported only with multi-factor sign-in on
    from konnect.mfa.epochs import AccountEpochs


class EpochUnavailable(Exception):
    """The credential store cannot say what an account's epoch is now."""


def _epochs(provider: Provider, provider_name: str) -> AccountEpochs | None:
    """The epochs of the backend's accounts, when multi-factor sign-in is on."""
    factors = provider.second_factors
    if factors is None or provider_name != provider.backend.name:
        return None
    return factors.epochs


async def with_account_epoch(provider: Provider, logon: Logon) -> Logon:
    """A new sign-in with its account's epoch as the store holds it now. OAuthError
    (temporarily_unavailable) when the store cannot say: the sign-in fails closed."""
    epochs = _epochs(provider, logon.provider)
    if epochs is None:
        return logon
    from konnect.mfa.model import Account
    from konnect.mfa.store import CredentialStoreUnavailable

    try:
        epoch = await epochs.fresh(Account(logon.provider, logon.subject))
    except CredentialStoreUnavailable as exc:
        # The store logs an outage once when it begins and once when it ends.
        provider.log.debug("sign-in refused, credential store unavailable: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None
    return replace(logon, epoch=epoch)


async def current_epoch(provider: Provider, provider_name: str, subject: str) -> int:
    """The account's epoch now, as a check sees it (at most a few seconds old); 0 when no
    epoch applies. Raises EpochUnavailable."""
    epochs = _epochs(provider, provider_name)
    if epochs is None:
        return 0
    from konnect.mfa.model import Account
    from konnect.mfa.store import CredentialStoreUnavailable

    try:
        return await epochs.current(Account(provider_name, subject))
    except CredentialStoreUnavailable as exc:
        raise EpochUnavailable(str(exc)) from exc
