"""The `konnectd` command: serve, reload, users, mfa, utils (jwk-from-pem, hash-password),
healthcheck, version.

main() is the one place that reads the process environment; it hands it to the loaders.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import konnect
from konnect.config import ConfigError, load_settings, serve_help

if TYPE_CHECKING:
    from konnect.identity import IdentityBackend
    from konnect.identity.users_admin import UsersFile
    from konnect.mfa import CredentialStore, FactorSealer
    from konnect.mfa.admin import MfaAdmin
    from konnect.observe import Events

USAGE = """usage: konnectd <command> [args...]

commands:
  serve [flags] <identity-manager> [args]   run the OpenID Connect provider
  reload [--pid PID]                        make a running konnectd re-read its files
  users [--file FILE] add|passwd|disable|enable|list
                                            manage the users file (prompts for passwords)
  mfa list|reset|unlock|rekey|import-totp|stats
                                            manage users' second factors
  utils jwk-from-pem [--kid K] [--use U] [--yaml] FILE
                                            print a PEM key as a JWK
  utils hash-password [--stdin]             print an argon2id hash for the users file
  healthcheck [--hostname HOST:PORT]        check that a running konnectd answers
  version                                   print version information

Run 'konnectd <command> --help' for the flags of a command.
"""
DEFAULT_LISTEN = "127.0.0.1:8777"
#: How long a `konnectd mfa invite` link works unless --valid says otherwise (3 days).
DEFAULT_INVITATION_VALIDITY = 3 * 86_400
MAX_INVITATION_VALIDITY = 31 * 86_400


class _UsageExit(Exception):
    """Raised by the sub-command parsers instead of exiting the process."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _UsageExit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run konnectd with the given arguments (default: the process's); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    environ: Mapping[str, str] = os.environ
    if not args:
        sys.stderr.write(USAGE)
        return 2
    command, rest = args[0], args[1:]
    commands: dict[str, Callable[[list[str], Mapping[str, str]], int]] = {
        "serve": _serve,
        "reload": _reload,
        "users": _users,
        "mfa": _mfa,
        "utils": _utils,
        "healthcheck": _healthcheck,
        "version": _version,
    }
    if command in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if command not in commands:
        sys.stderr.write(f"konnectd: unknown command '{command}'\n\n{USAGE}")
        return 2
    try:
        return commands[command](rest, environ)
    except _UsageExit as usage_exit:
        return usage_exit.status


# -- serve --------------------------------------------------------------------------------


def _serve(args: list[str], environ: Mapping[str, str]) -> int:
    if _asks_for_help(args):
        sys.stdout.write(serve_help())
        return 0
    try:
        settings = load_settings(args, environ)
    except ConfigError as error:
        print("konnectd: configuration error:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    from konnect.http.server import serve

    return serve(settings)


def _asks_for_help(args: Sequence[str]) -> bool:
    before_separator = args[: args.index("--")] if "--" in args else args
    return any(arg in ("-h", "--help") for arg in before_separator)


# -- reload -------------------------------------------------------------------------------


def _reload(args: list[str], environ: Mapping[str, str]) -> int:
    parser = _Parser(
        prog="konnectd reload",
        description="Send SIGHUP to a running konnectd, which then re-reads its client registry, "
        "scopes, Jitsi servers and validation keys; a broken file is logged and the running "
        "configuration stays. Its log says whether the reload worked.",
    )
    parser.add_argument(
        "--pid",
        type=int,
        default=1,
        help="process id of `konnectd serve` (default: 1, the server in a container)",
    )
    pid = parser.parse_args(args).pid
    if not _is_konnectd_serve(pid):
        print(
            f"konnectd: process {pid} is not a running `konnectd serve` (name it with --pid)",
            file=sys.stderr,
        )
        return 1
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as error:
        print(f"konnectd: cannot signal process {pid}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"reload requested from process {pid}")
    return 0


def _is_konnectd_serve(pid: int) -> bool:
    """Whether `pid` runs `konnectd serve`: a SIGHUP would end or disturb any other process."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in words and any(b"konnect" in word for word in words)


# -- users --------------------------------------------------------------------------------


def _users(args: list[str], environ: Mapping[str, str]) -> int:
    parser = _users_parser()
    options = parser.parse_args(args)
    if options.command is None:
        parser.print_help(sys.stderr)
        return 2
    path = options.file or _configured_users_file(environ)
    if path is None:
        print(
            "konnectd: name the users file with --file, KONNECTD_USERS_FILE or the users_file "
            "key of the cfg file in KONNECTD_CONFIG",
            file=sys.stderr,
        )
        return 2
    from konnect.identity.users_admin import UsersFile, UsersFileError

    try:
        return _change_users(UsersFile(path), options)
    except UsersFileError as error:
        print(f"konnectd: {error}", file=sys.stderr)
        return 1


def _users_parser() -> _Parser:
    parser = _Parser(
        prog="konnectd users",
        description="Change the users file in place, keeping its comments and order. A running "
        "konnectd notices the change within a second. Passwords are asked for (or read as one "
        "line from standard input when it is not a terminal), never taken as arguments.",
    )
    parser.add_argument(
        "--file",
        "-f",
        type=Path,
        help="the users file (default: env KONNECTD_USERS_FILE, else users_file of the cfg file "
        "named by KONNECTD_CONFIG)",
    )
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    add = commands.add_parser("add", help="add a user and ask for the password")
    add.add_argument("username")
    add.add_argument("--id", default="", help="stable unique id (default: a new UUID)")
    for flag in ("--name", "--given-name", "--family-name", "--email"):
        add.add_argument(flag, default="")
    add.add_argument("--email-verified", action="store_true")
    add.add_argument("--group", action="append", default=[], help="a group (repeatable)")
    for name, help_text in (
        ("passwd", "set a user's password (asked for)"),
        ("disable", "stop a user from signing in and refreshing tokens"),
        ("enable", "let a disabled user sign in again"),
    ):
        commands.add_parser(name, help=help_text).add_argument("username")
    commands.add_parser("list", help="list the users (never their password hashes)")
    return parser


def _configured_users_file(environ: Mapping[str, str]) -> Path | None:
    if environ.get("KONNECTD_USERS_FILE", "").strip():
        return Path(environ["KONNECTD_USERS_FILE"].strip())
    cfg = environ.get("KONNECTD_CONFIG", "").strip()
    if not cfg:
        return None
    from konnect.config import parse_cfg

    try:
        values, _ = parse_cfg(Path(cfg).read_text(encoding="utf-8"), cfg)
    except (OSError, UnicodeDecodeError):
        return None
    return Path(values["users_file"][0]) if "users_file" in values else None


def _change_users(users: UsersFile, options: argparse.Namespace) -> int:
    from konnect.crypto import hash_password
    from konnect.identity.users_admin import NewUser

    if options.command == "list":
        _print_users(users)
        return 0
    if options.command in ("disable", "enable"):
        changed = users.set_disabled(options.username, options.command == "disable")
        state = f"{options.command}d" if changed else f"already {options.command}d"
        print(f"user '{options.username}' {state}")
        return 0
    if users.has(options.username) != (options.command == "passwd"):
        known = "is unknown" if options.command == "passwd" else "already exists"
        print(f"konnectd: user '{options.username}' {known}", file=sys.stderr)
        return 1
    password = _new_password()
    if password is None:
        return 1
    if options.command == "passwd":
        users.set_password_hash(options.username, hash_password(password))
        print(f"password of '{options.username}' changed")
        return 0
    user_id = users.add(
        NewUser(
            username=options.username,
            password_hash=hash_password(password),
            id=options.id,
            name=options.name,
            given_name=options.given_name,
            family_name=options.family_name,
            email=options.email,
            email_verified=options.email_verified,
            groups=tuple(options.group),
        )
    )
    print(f"user '{options.username}' added with id {user_id}")
    return 0


def _print_users(users: UsersFile) -> None:
    rows = [("USERNAME", "ID", "STATUS", "NAME")] + [
        (user.username, user.id, "disabled" if user.disabled else "enabled", user.name)
        for user in users.users()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]).rstrip())


def _new_password() -> str | None:
    """A password asked for twice (or one line of standard input); None after an error."""
    try:
        password = _read_password(from_stdin=not sys.stdin.isatty())
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return None
    if password is None:
        print("konnectd: the passwords do not match", file=sys.stderr)
    elif not password:
        print("konnectd: an empty password is refused", file=sys.stderr)
    return password or None


# -- mfa ----------------------------------------------------------------------------------


def _mfa(args: list[str], environ: Mapping[str, str]) -> int:
    parser = _mfa_parser()
    serve_args: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, serve_args = args[:at], args[at + 1 :]
    options = parser.parse_args(args)
    if options.command is None:
        parser.print_help(sys.stderr)
        return 2
    import asyncio

    from konnect.mfa.admin import locate, open_store

    flags = {
        "credential_store": options.credential_store,
        "state_store": options.state_store,
        "data_dir": options.data_dir,
        "audit_log": options.audit_log,
        "mfa_key": options.mfa_key,
        "mfa_previous_key": options.mfa_previous_key,
        "encryption_secret": options.encryption_secret,
        "issuer": options.iss,
    }
    location = locate(flags, environ)
    try:
        if options.command == "rekey":
            options.sealers = (location.sealer(), _new_sealer(options.new_mfa_key))
        if options.command == "invite":
            options.sealer = location.sealer()
            options.issuer = _invitation_issuer(location.issuer)
        if options.command == "import-totp":
            options.sealer = location.sealer()
            options.text = _read_text(options.file)
            options.identity = _identity_backend(serve_args, environ)
        store = open_store(location)
        events = _audit_events(location.audit_log)
    except ConfigError as error:
        for problem in error.problems:
            print(f"konnectd: {problem}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_run_mfa(store, events, options))
    finally:
        events.close()


def _invitation_issuer(issuer: str) -> str:
    if not issuer.startswith(("https://", "http://")):
        raise ConfigError(["invite needs the issuer URL (--iss or OIDC_ISSUER_IDENTIFIER)"])
    return issuer


def _read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read {name}: {exc}"]) from None


def _identity_backend(serve_args: list[str], environ: Mapping[str, str]) -> IdentityBackend:
    """The identity backend serve would use, to find users by their sign-in names."""
    from konnect.identity import UsernameLookup
    from konnect.identity.registry import create_backend

    backend = create_backend(load_settings(serve_args, environ))
    if not isinstance(backend, UsernameLookup):
        raise ConfigError([f"the {backend.name} backend cannot find users by name"])
    return backend


def _new_sealer(new_key: Path) -> FactorSealer:
    from konnect.crypto import load_secret
    from konnect.mfa import FactorSealer

    return FactorSealer(load_secret(new_key, "new mfa key")[0])


def _mfa_parser() -> _Parser:
    parser = _Parser(
        prog="konnectd mfa",
        description="Look after users' second factors in the credential store that konnectd "
        "serve uses (found as serve finds it: flags, KONNECTD_* variables, the cfg file in "
        "KONNECTD_CONFIG). An account is an identity backend's name and the user's subject, "
        "as 'list' shows them. Every action goes to the audit log when one is configured.",
    )
    parser.add_argument(
        "--credential-store", metavar="STORE", help="sqlite, sqlite:PATH, postgresql://…"
    )
    parser.add_argument("--state-store", metavar="STORE", help="the state store serve uses")
    parser.add_argument("--data-dir", metavar="DIR", help="the data directory serve uses")
    parser.add_argument("--audit-log", metavar="FILE|stderr|syslog", help="where to audit")
    parser.add_argument("--mfa-key", metavar="FILE", help="the mfa key serve uses")
    parser.add_argument(
        "--mfa-previous-key", metavar="FILE", help="the previous mfa key serve still accepts"
    )
    parser.add_argument(
        "--encryption-secret", metavar="FILE", help="the encryption secret serve uses"
    )
    parser.add_argument("--iss", metavar="URL", help="the issuer serve uses (for invitations)")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    listing = commands.add_parser("list", help="accounts with second factors, failures or a lock")
    listing.add_argument("--backend", help="only accounts of this identity backend")
    for name, help_text in (
        ("reset", "remove every second factor of an account (the user sets one up again)"),
        ("unlock", "lift the lock after too many wrong codes"),
        ("invite", "a single-use link to set up a first second factor (mfa_enrolment admin_only)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("backend", help="identity backend name (users, ldap, ...)")
        command.add_argument("subject", help="the user's subject in that backend")
        if name == "reset":
            command.add_argument(
                "--revoke-sessions",
                action="store_true",
                help="also end the user's sign-ins (raises the account's epoch)",
            )
        if name == "invite":
            command.add_argument(
                "--valid",
                metavar="SECONDS",
                type=int,
                default=DEFAULT_INVITATION_VALIDITY,
                help=f"how long the link works (default {DEFAULT_INVITATION_VALIDITY})",
            )
    rekey = commands.add_parser(
        "rekey",
        help="seal every stored factor with a new mfa key, all or nothing",
        description="Seal every stored factor with a new mfa key, in one transaction. Factors "
        "open with the keys serve uses (--mfa-key, else the encryption secret, and "
        "--mfa-previous-key); those the new key opens already stay. Without downtime: first "
        "run serve with mfa_key = the new file and mfa_previous_key = the old one, then rekey, "
        "then drop mfa_previous_key. Recovery codes are hashes and stay as they are: they "
        "work while the old key is mfa_previous_key.",
    )
    rekey.add_argument(
        "--new-mfa-key", metavar="FILE", type=Path, required=True, help="32 random bytes"
    )
    importing = commands.add_parser(
        "import-totp",
        help="store authenticator-app keys exported from another system",
        description="Store authenticator-app keys exported elsewhere as TOTP factors, sealed "
        "like enrolled ones. FILE ('-': standard input) holds one key a line: CSV "
        '\'user,seed[,name]\' or JSON \'{"user": ..., "seed": ..., "name": ...}\', the '
        "seed in base32 (128 to 512 bits; SHA1, 6 digits, 30 s). Users are found by sign-in "
        "name in the identity backend serve uses: give serve's arguments after '--' (for "
        "example -- --iss URL users users.yaml), else KONNECTD_CONFIG and the KONNECTD_* "
        "variables. A line that cannot be imported is named and nothing is stored; keys a "
        "user has already are skipped. Seeds are never printed.",
    )
    importing.add_argument("file", metavar="FILE", help="the keys, CSV or JSON lines")
    importing.add_argument(
        "--dry-run", action="store_true", help="check every line and report, store nothing"
    )
    commands.add_parser("stats", help="how many accounts use which factors, how many are locked")
    return parser


def _audit_events(destination: str) -> Events:
    from konnect.observe import AuditLog, Events

    try:
        return Events(None, AuditLog.open(destination) if destination else None)
    except OSError as exc:
        raise ConfigError([f"audit_log: cannot open {destination}: {exc}"]) from None


async def _run_mfa(store: CredentialStore, events: Events, options: argparse.Namespace) -> int:
    from konnect.mfa import Account
    from konnect.mfa.admin import MfaAdmin, UnopenableFactor
    from konnect.mfa.store import CredentialStoreUnavailable

    admin = MfaAdmin(store, events)
    try:
        if options.command == "list":
            await _mfa_list(admin, options.backend)
        elif options.command == "stats":
            for name, count in (await admin.stats()).items():
                print(f"{name}: {count}")
        elif options.command == "rekey":
            await _mfa_rekey(admin, *options.sealers)
        elif options.command == "import-totp":
            return await _mfa_import(admin, options)
        elif options.command == "invite":
            return await _mfa_invite(admin, options)
        elif options.command == "reset":
            account = Account(options.backend, options.subject)
            epoch = (await admin.reset(account, options.revoke_sessions)).epoch
            ended = f"; sign-ins before epoch {epoch} end" if options.revoke_sessions else ""
            print(f"second factors of {options.backend} {options.subject} removed{ended}")
        else:
            unlocked = await admin.unlock(Account(options.backend, options.subject))
            outcome = "unlocked" if unlocked else "was not locked"
            print(f"{options.backend} {options.subject} {outcome}")
    except CredentialStoreUnavailable as exc:
        print(f"konnectd: credential store unavailable: {exc}", file=sys.stderr)
        return 1
    except UnopenableFactor as exc:
        ref = exc.ref
        print(
            f"konnectd: the {ref.kind} factor {ref.id} of {ref.account.backend} "
            f"{ref.account.subject} opens with none of the keys; nothing changed",
            file=sys.stderr,
        )
        return 1
    finally:
        await store.close()
    return 0


async def _mfa_invite(admin: MfaAdmin, options: argparse.Namespace) -> int:
    import time

    from konnect.mfa import Account
    from konnect.mfa.admin import HasFactors

    if not 60 <= options.valid <= MAX_INVITATION_VALIDITY:
        print(f"konnectd: --valid must be 60 to {MAX_INVITATION_VALIDITY}", file=sys.stderr)
        return 2
    account = Account(options.backend, options.subject)
    try:
        link, invitation = await admin.invite(
            account, options.sealer, options.issuer, int(time.time()), options.valid
        )
    except HasFactors:
        print(
            f"konnectd: {options.backend} {options.subject} has a second factor already",
            file=sys.stderr,
        )
        return 1
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(invitation.not_after))
    print(f"{link}\nworks once, until {until}, for {options.backend} {options.subject}")
    return 0


async def _mfa_import(admin: MfaAdmin, options: argparse.Namespace) -> int:
    import time

    from konnect.identity import BackendUnavailable
    from konnect.mfa.imports import read_seeds

    identity = options.identity

    async def resolve(username: str) -> str | None:
        user = await identity.lookup_username(username)
        return user.subject if user is not None else None

    seeds, problems = read_seeds(options.text)
    try:
        done = await admin.import_totp(
            (seeds, problems),
            identity.name,
            resolve,
            options.sealer,
            int(time.time()),
            dry_run=options.dry_run,
        )
    except BackendUnavailable as exc:
        print(f"konnectd: identity backend unavailable: {exc}", file=sys.stderr)
        return 1
    finally:
        await identity.close()
    for problem in done.problems:
        print(f"konnectd: {problem}", file=sys.stderr)
    if done.problems:
        print("konnectd: nothing imported", file=sys.stderr)
        return 1
    verb = "would import" if options.dry_run else "imported"
    for seed, account in done.imported:
        print(f"line {seed.line}: {verb} for {seed.user} ({account.backend} {account.subject})")
    for seed, _account in done.already:
        print(f"line {seed.line}: {seed.user} has this key already")
    print(f"{verb}: {len(done.imported)}, already there: {len(done.already)}")
    return 0


async def _mfa_rekey(admin: MfaAdmin, current: FactorSealer, new: FactorSealer) -> None:
    done = await admin.rekey(current, new)
    print(f"factors sealed with the new key: {done.resealed} (already: {done.already})")
    if done.recovery_code_accounts:
        print(
            "accounts whose recovery codes work only while the old key is mfa_previous_key: "
            f"{done.recovery_code_accounts}"
        )


async def _mfa_list(admin: MfaAdmin, backend: str | None) -> None:
    from konnect.mfa.factors import is_locked

    rows = [("BACKEND", "SUBJECT", "FACTORS", "FAILURES", "STATE")]
    for item in await admin.accounts(backend):
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(item.kinds.items()))
        state = "locked" if is_locked(item.state) else "ok"
        account = item.account
        rows.append(
            (account.backend, account.subject, kinds or "-", str(item.state.failures), state)
        )
    _print_table(rows)


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


# -- utils --------------------------------------------------------------------------------


def _utils(args: list[str], environ: Mapping[str, str]) -> int:
    parser = _Parser(prog="konnectd utils", description="Helpers for setting konnect up.")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    jwk = commands.add_parser("jwk-from-pem", help="print a PEM key file as a JWK")
    jwk.add_argument("--kid", help="key id (default: the file name without extension)")
    jwk.add_argument("--use", default="sig", help="key use (default: sig)")
    jwk.add_argument("--yaml", action="store_true", help="print YAML instead of JSON")
    jwk.add_argument("file", type=Path, help="PEM or JWK key file")
    password = commands.add_parser("hash-password", help="print an argon2id password hash")
    password.add_argument(
        "--stdin", action="store_true", help="read one line from standard input, no prompt"
    )
    options = parser.parse_args(args)
    if options.command == "jwk-from-pem":
        return _jwk_from_pem(options.file, options.kid, options.use, as_yaml=options.yaml)
    if options.command == "hash-password":
        return _hash_password(from_stdin=options.stdin)
    parser.print_help(sys.stderr)
    return 2


def _jwk_from_pem(path: Path, kid: str | None, use: str | None, *, as_yaml: bool) -> int:
    from konnect.keys import KeyLoadError, jwk_from_pem

    try:
        jwk = jwk_from_pem(path, kid=kid, use=use or None)
    except KeyLoadError as error:
        print(f"konnectd: {path}: {_one_line(error)}", file=sys.stderr)
        return 1
    if as_yaml:
        sys.stdout.write(_jwk_yaml(jwk))
    else:
        print(json.dumps(jwk, indent="\t", sort_keys=True))
    return 0


def _jwk_yaml(jwk: dict[str, str]) -> str:
    """The JWK as a YAML mapping, as Konnect prints it: one `key: value` line per member.

    YAML 1.1 readers (Go's, in kwmserver) take a bare `y` or `n` for a boolean, so the EC
    member `y` and the RSA member `n` are written in double quotes.
    """
    import yaml

    class Dumper(yaml.SafeDumper):
        def represent_str(self, data: str) -> yaml.ScalarNode:
            if data.lower() in _YAML11_BOOLEAN_WORDS:
                return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')
            return super().represent_str(data)

    Dumper.add_representer(str, Dumper.represent_str)
    return yaml.dump(jwk, Dumper=Dumper, default_flow_style=False, sort_keys=True)


_YAML11_BOOLEAN_WORDS = ("y", "n", "yes", "no", "on", "off", "true", "false")


def _hash_password(*, from_stdin: bool) -> int:
    from konnect.crypto import hash_password

    try:
        password = _read_password(from_stdin=from_stdin or not sys.stdin.isatty())
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return 1
    if password is None:
        print("konnectd: the passwords do not match", file=sys.stderr)
        return 1
    if not password:
        print("konnectd: an empty password is refused", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _read_password(*, from_stdin: bool) -> str | None:
    """The password, or None when the two prompted entries differ."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Repeat password: ")
    return first if first == second else None


# -- healthcheck --------------------------------------------------------------------------


def _healthcheck(args: list[str], environ: Mapping[str, str]) -> int:
    parser = _Parser(prog="konnectd healthcheck", description="Check that konnectd answers.")
    parser.add_argument(
        "--hostname",
        default=_probe_address(environ.get("KONNECTD_LISTEN", "").strip() or DEFAULT_LISTEN),
        help="HOST:PORT of the server (default: from KONNECTD_LISTEN, else 127.0.0.1:8777)",
    )
    parser.add_argument("--path", default="/health-check", help="(default: /health-check)")
    parser.add_argument("--scheme", default="http", choices=("http", "https"))
    parser.add_argument("--insecure", action="store_true", help="skip TLS certificate verification")
    options = parser.parse_args(args)
    url = f"{options.scheme}://{options.hostname}{options.path}"
    return _probe(url, verify=not options.insecure)


def _probe_address(listen: str) -> str:
    """Where to reach a server listening on `listen`: wildcard hosts become loopback."""
    host, _, port = listen.rpartition(":")
    loopback = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}  # noqa: S104
    return f"{loopback.get(host, host)}:{port}"


def _probe(url: str, *, verify: bool) -> int:
    import httpx

    headers = {"Connection": "close", "User-Agent": f"konnectd/{konnect.__version__}"}
    try:
        # trust_env=False: a proxy from the environment must not sit between us and localhost.
        response = httpx.post(url, headers=headers, timeout=10, verify=verify, trust_env=False)
    except httpx.HTTPError as error:
        print(f"healthcheck failed: {_one_line(error)}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"healthcheck failed with status: {response.status_code}", file=sys.stderr)
        return 1
    print("healthcheck successful")
    return 0


# -- version ------------------------------------------------------------------------------


def _version(args: list[str], environ: Mapping[str, str]) -> int:
    if args:
        sys.stderr.write("usage: konnectd version\n")
        return 2
    print(f"Version: {konnect.__version__}")
    print(f"Python: {platform.python_version()}")
    return 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
