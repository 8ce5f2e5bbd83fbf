"""What `konnectd mfa` does to the credential store, each action reported to the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from konnect.config import ConfigError, parse_cfg
from konnect.crypto import random_string
from konnect.mfa.factors import is_locked
from konnect.mfa.imports import ImportedSeed
from konnect.mfa.invitations import Invitation, invitation_link, seal_invitation
from konnect.mfa.model import (
    KIND_RECOVERY,
    KIND_TOTP,
    KIND_WEBAUTHN,
    Account,
    AccountState,
    Factor,
    RowRef,
)
from konnect.mfa.sealing import FactorSealer, derive_mfa_secret, load_previous_mfa_secret
from konnect.mfa.store import AccountSummary, CredentialStore
from konnect.mfa.stores import default_credential_store, open_credential_store
from konnect.observe import Events

#: Where the command finds the stores when no flag names them: (option, env, cfg key).
_LOCATIONS = (
    ("credential_store", "KONNECTD_CREDENTIAL_STORE", "credential_store"),
    ("state_store", "KONNECTD_STATE_STORE", "state_store"),
    ("data_dir", "KONNECTD_DATA_DIR", "data_dir"),
    ("audit_log", "KONNECTD_AUDIT_LOG", "audit_log"),
    ("mfa_key", "KONNECTD_MFA_KEY", "mfa_key"),
    ("mfa_previous_key", "KONNECTD_MFA_PREVIOUS_KEY", "mfa_previous_key"),
    ("encryption_secret", "KONNECTD_ENCRYPTION_SECRET", "encryption_secret_key"),
    ("issuer", "OIDC_ISSUER_IDENTIFIER", "oidc_issuer_identifier"),
)
STATE_FILE = "konnect.db"


@dataclass(frozen=True)
class StoreLocation:
    credential_store: str
    state_file: Path | None
    audit_log: str
    #: The key files serve seals factors with ("" when unset).
    mfa_key: str = ""
    mfa_previous_key: str = ""
    encryption_secret: str = ""
    issuer: str = ""

    def sealer(self) -> FactorSealer:
        """The factor sealer serve builds from these files (ConfigError when it cannot)."""
        mfa_key, previous, encryption = (
            Path(name) if name else None
            for name in (self.mfa_key, self.mfa_previous_key, self.encryption_secret)
        )
        secret = derive_mfa_secret(mfa_key, encryption)
        return FactorSealer(secret, load_previous_mfa_secret(previous))


def locate(flags: Mapping[str, str | None], environ: Mapping[str, str]) -> StoreLocation:
    """The stores as `konnectd serve` would find them: flag > environment > the cfg file
    named by KONNECTD_CONFIG > default."""
    cfg: dict[str, tuple[str, int]] = {}
    cfg_path = environ.get("KONNECTD_CONFIG", "").strip()
    if cfg_path:
        try:
            cfg, _ = parse_cfg(Path(cfg_path).read_text(encoding="utf-8"), cfg_path)
        except (OSError, UnicodeDecodeError):
            cfg = {}
    values: dict[str, str] = {}
    for option, env, key in _LOCATIONS:
        value = flags.get(option) or environ.get(env, "").strip() or cfg.get(key, ("", 0))[0]
        values[option] = value
    state_store = values["state_store"] or "sqlite"
    data_dir = Path(values["data_dir"] or "data")
    state_file = (
        Path(state_store[7:])
        if state_store.startswith("sqlite:")
        else data_dir / STATE_FILE
        if state_store == "sqlite"
        else None
    )
    spec = values["credential_store"] or default_credential_store(state_store)
    keys = (values["mfa_key"], values["mfa_previous_key"], values["encryption_secret"])
    return StoreLocation(spec, state_file, values["audit_log"], *keys, values["issuer"])


def open_store(location: StoreLocation) -> CredentialStore:
    """The credential store (ConfigError when it cannot be opened). A SQLite file must exist
    already: a wrong data directory should not look like a store without accounts."""
    spec = location.credential_store
    if spec == "sqlite" or spec.startswith("sqlite:"):
        path = Path(spec[7:]) if spec.startswith("sqlite:") else location.state_file
        if path is None or not path.is_file():
            raise ConfigError(
                [f"no credential store at {path} (set --data-dir or --credential-store)"]
            )
    return open_credential_store(spec, location.state_file)


class HasFactors(Exception):
    """The account has a second factor already: an invitation to set one up is of no use."""


class UnopenableFactor(Exception):
    """A stored secret that none of the keys opens: a rekey changes nothing."""

    def __init__(self, ref: RowRef) -> None:
        super().__init__(ref)
        self.ref = ref


@dataclass(frozen=True)
class Rekeyed:
    """What a rekey did: secrets sealed anew, secrets the new key opened already, and the
    accounts whose recovery codes stay hashed with the key they were made with."""

    resealed: int
    already: int
    recovery_code_accounts: int


@dataclass
class SeedImport:
    """What an import did (or would do, in a dry run): keys stored, keys the account had
    already, and why lines were refused (then nothing is stored)."""

    imported: list[tuple[ImportedSeed, Account]] = field(default_factory=list)
    already: list[tuple[ImportedSeed, Account]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


#: Finds a user's subject by sign-in name in the identity backend (None: no such user).
ResolveUser = Callable[[str], Awaitable[str | None]]


@dataclass
class MfaAdmin:
    """The administrator's actions on accounts; each one is audited."""

    store: CredentialStore
    events: Events

    async def accounts(self, backend: str | None) -> list[AccountSummary]:
        found = await self.store.summaries(backend)
        self.events.mfa_admin("list", backend or "", "", accounts=len(found))
        return found

    async def reset(self, account: Account, revoke_sessions: bool) -> AccountState:
        """Remove every factor (the user enrols again) and lift a lock; with
        `revoke_sessions` the account's epoch grows, which ends its sign-ins."""
        state = await self.store.reset(account, bump_epoch=revoke_sessions)
        self.events.mfa_admin(
            "reset", account.backend, account.subject, revoke_sessions=revoke_sessions
        )
        return state

    async def unlock(self, account: Account) -> bool:
        unlocked = await self.store.unlock(account)
        self.events.mfa_admin("unlock", account.backend, account.subject, was_locked=unlocked)
        return unlocked

    async def rekey(self, current: FactorSealer, new: FactorSealer) -> Rekeyed:
        """Seal every factor's secret with the `new` key, all or nothing: a secret the new key
        opens stays as it is, any other must open with the `current` keys (its previous key
        too), else UnopenableFactor is raised and nothing changes."""
        already = 0

        def reseal(factor: Factor) -> str:
            nonlocal already
            if new.opens_with_current_key(factor.ref, factor.secret):
                already += 1
                return factor.secret
            secret = current.open(factor.ref, factor.secret)
            if secret is None:
                raise UnopenableFactor(factor.ref)
            return new.seal(factor.ref, secret)

        try:
            resealed = await self.store.reseal(reseal)
        except UnopenableFactor as exc:
            account = exc.ref.account
            self.events.mfa_admin("rekey", account.backend, account.subject, refused=exc.ref.id)
            raise
        summaries = await self.store.summaries()
        with_codes = sum(1 for item in summaries if item.kinds.get(KIND_RECOVERY))
        outcome = Rekeyed(resealed, already, with_codes)
        self.events.mfa_admin(
            "rekey",
            "",
            "",
            resealed=resealed,
            already=already,
            recovery_code_accounts=with_codes,
        )
        return outcome

    async def import_totp(
        self,
        read: tuple[list[ImportedSeed], list[str]],
        backend: str,
        resolve: ResolveUser,
        sealer: FactorSealer,
        now: int,
        dry_run: bool = False,
    ) -> SeedImport:
        """Store each seed as a TOTP factor of its user, sealed to its row; a seed the user
        has already is skipped, so an import can run again. `read` is the seeds and the
        problems of the lines read; with a problem, or an unknown user, nothing is stored."""
        seeds, problems = read
        outcome = SeedImport(problems=list(problems))
        accounts = []
        for seed in seeds:
            subject = await resolve(seed.user)
            if subject is None:
                outcome.problems.append(f"line {seed.line}: no user {seed.user!r} in {backend}")
            accounts.append(Account(backend, subject or ""))
        if outcome.problems:
            return outcome
        for seed, account in zip(seeds, accounts, strict=True):
            if await self._has_seed(account, seed.seed, sealer):
                outcome.already.append((seed, account))
                continue
            ref = RowRef(KIND_TOTP, account, random_string(16))
            if not dry_run:
                await self.store.add(Factor(ref, seed.name, sealer.seal(ref, seed.seed), now))
            outcome.imported.append((seed, account))
            self.events.mfa_admin(
                "import_totp", backend, account.subject, factor=ref.id, dry_run=dry_run
            )
        return outcome

    async def _has_seed(self, account: Account, seed: bytes, sealer: FactorSealer) -> bool:
        factors = await self.store.factors(account, KIND_TOTP)
        return any(sealer.open(factor.ref, factor.secret) == seed for factor in factors)

    async def invite(
        self, account: Account, sealer: FactorSealer, issuer: str, now: int, validity: int
    ) -> tuple[str, Invitation]:
        """A single-use link that lets the user set up a first second factor at sign-in
        though `mfa_enrolment` is `admin_only`; HasFactors when the user has one."""
        factors = await self.store.factors(account)
        if any(factor.ref.kind != KIND_RECOVERY for factor in factors):
            raise HasFactors
        invitation = Invitation.new(account, now, validity)
        link = invitation_link(issuer, seal_invitation(sealer, invitation))
        self.events.mfa_admin(
            "invite",
            account.backend,
            account.subject,
            invitation=invitation.id,
            not_after=invitation.not_after,
        )
        return link, invitation

    async def stats(self) -> dict[str, int]:
        summaries = await self.store.summaries()

        def having(*kinds: str) -> int:
            return sum(1 for item in summaries if any(item.kinds.get(kind) for kind in kinds))

        counts = {
            "accounts": len(summaries),
            "with_second_factor": having(KIND_TOTP, KIND_WEBAUTHN),
            "with_totp": having(KIND_TOTP),
            "with_webauthn": having(KIND_WEBAUTHN),
            "with_recovery_codes": having(KIND_RECOVERY),
            "locked": sum(1 for item in summaries if is_locked(item.state)),
        }
        self.events.mfa_admin("stats", "", "", **counts)
        return counts
