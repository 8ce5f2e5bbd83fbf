"""The sign-in web app's second step: answering with a second factor, and setting up an
authenticator app at sign-in when the policy requires one and the user has none.

A right password that needs a second factor (see `SecondStep.pending_for`) sets the pending
cookie instead of the logon cookie; only a verified answer here turns it into a sign-in. The
seed of an authenticator app being set up travels in a sealed cookie of its own, is claimed
once in the state store, and is stored only after a valid code confirms it; the ten recovery
codes are shown once, in the answer that confirms it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from konnect.crypto import random_string
from konnect.identity import UPSTREAM_PROVIDER, BackendUnavailable, User
from konnect.mfa import Account
from konnect.mfa.factors import SecondFactors, Verdict, is_locked
from konnect.mfa.pending import (
    Enrolment,
    PendingSignIn,
    open_enrolment,
    open_pending,
    seal_enrolment,
    seal_pending,
)
from konnect.mfa.policy import PENDING_MAX_AGE, SECOND_FACTOR_AMR, with_second_factor
from konnect.mfa.qr import qr_svg
from konnect.mfa.store import CredentialStoreUnavailable
from konnect.mfa.totp import new_totp_seed, provisioning_uri, seed_text
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.responses import apply_cookies, json_response
from konnect.oidc.session import CookieSpec, Logon
from konnect.oidc.signin_sessions import logon_user
from konnect.state import StateStoreUnavailable

PENDING_COOKIE = "KKMFA"
ENROLMENT_COOKIE = "KKMFAE"
#: A WebAuthn challenge on offer (see konnect.identifier.passkey_api).
WEBAUTHN_COOKIE = "KKMFAW"
MAX_CODE_LENGTH = 64
#: Answers the web app may give: the method names of `mfa_methods`.
ANSWER_METHODS = ("totp", "recovery")
#: The hello answer for a completed sign-in (None: no hello was sent along).
HelloAnswer = Callable[[Logon], dict[str, Any] | None]


@contextlib.contextmanager
def _stores_reachable(provider: Provider) -> Iterator[None]:
    """A store that cannot answer refuses the sign-in (fails closed) and says so."""
    try:
        yield
    except StateStoreUnavailable as exc:
        provider.log.error("second factor refused, the state store is unavailable: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None
    except CredentialStoreUnavailable as exc:
        # The credential store logs an outage once; every refused sign-in only at debug level.
        provider.log.debug("second factor refused: %s", exc)
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None


async def user_now(provider: Provider, logon: Logon) -> User | None:
    """The user of a sign-in as the identity backend knows them now (None: gone); a backend
    that cannot answer refuses with `temporarily_unavailable`."""
    try:
        return await logon_user(provider, logon)
    except BackendUnavailable:
        raise OAuthError("temporarily_unavailable", "sign-in is temporarily unavailable") from None


class SecondStep:
    """The second-step endpoints around the MFA services of `provider`."""

    def __init__(self, provider: Provider, factors: SecondFactors, headers: dict[str, str]):
        self.provider = provider
        self.factors = factors
        self._headers = headers
        policy = provider.cookies.policy
        self.pending_name = policy.name(PENDING_COOKIE)
        self.enrolment_name = policy.name(ENROLMENT_COOKIE)
        self.challenge_name = policy.name(WEBAUTHN_COOKIE)

    # -- deciding --------------------------------------------------------------------------
    async def pending_for(
        self, logon: Logon, client_level: str, requested_level: str = "", invitation: str = ""
    ) -> PendingSignIn | None:
        with _stores_reachable(self.provider):
            return await self._pending_for(logon, client_level, requested_level, invitation)

    async def _pending_for(
        self, logon: Logon, client_level: str, requested_level: str, invitation: str
    ) -> PendingSignIn | None:
        """The pending sign-in to answer before `logon` counts, or None when it already
        does. OAuthError when the user cannot give one (none set up, and only an
        administrator may set one up, or invite the user to: `invitation`)."""
        if logon.provider == UPSTREAM_PROVIDER or self.factors.current(logon.amr, logon.mfa_time):
            return None
        user = await user_now(self.provider, logon)
        if user is None:
            return None
        account = Account(logon.provider, logon.subject)
        factors = self.factors
        if not await factors.needed(
            account, user.groups, logon.amr, logon.mfa_time, client_level, requested_level
        ):
            return None
        methods = await factors.methods(account)
        if not methods and not await factors.may_enrol(account, invitation):
            raise OAuthError(
                "access_denied", "a second factor is required; an administrator sets it up"
            )
        return self.pending_of(logon, methods)

    def pending_of(self, logon: Logon, methods: tuple[str, ...]) -> PendingSignIn:
        """The pending sign-in that asks `logon` for one of `methods` (none: to set one up),
        keeping its sign-in session."""
        return PendingSignIn.start(
            self.provider.now(),
            subject=logon.subject,
            username=logon.username,
            display_name=logon.display_name,
            provider=logon.provider,
            amr=logon.amr,
            methods=methods,
            session_id=logon.session_id,
            logon_time=logon.logon_time,
            epoch=logon.epoch,
        )

    def pending_cookie(self, pending: PendingSignIn) -> CookieSpec:
        sealed = seal_pending(self.provider.cookies.sealer, pending)
        return CookieSpec(
            self.pending_name,
            sealed,
            self.provider.endpoints.identifier_api,
            max_age=PENDING_MAX_AGE,
        )

    @staticmethod
    def describe(pending: PendingSignIn, state: str) -> dict[str, Any]:
        """What the web app asks for: the methods, or that a factor is to be set up."""
        return {
            "state": state,
            "success": True,
            "username": pending.username,
            "displayName": pending.display_name,
            "mfa": {"methods": list(pending.methods), "enrol": pending.enrol},
        }

    # -- answering -------------------------------------------------------------------------
    def _pending(self, request: Request) -> PendingSignIn | None:
        token = request.cookies.get(self.pending_name, "")
        return open_pending(self.provider.cookies.sealer, token, self.provider.now())

    def _forget(self) -> list[CookieSpec]:
        path = self.provider.endpoints.identifier_api
        return [
            CookieSpec(self.pending_name, None, path),
            CookieSpec(self.enrolment_name, None, path),
            CookieSpec(self.challenge_name, None, path),
        ]

    def _signed_in(
        self, pending: PendingSignIn, added: tuple[str, ...] = SECOND_FACTOR_AMR
    ) -> Logon:
        """The sign-in a verified second factor completes (or upgrades, for a step-up);
        `added` are the RFC 8176 methods the factor proved."""
        now = self.provider.now()
        return Logon(
            subject=pending.subject,
            username=pending.username,
            display_name=pending.display_name,
            provider=pending.provider,
            logon_time=pending.logon_time or now,
            session_id=pending.session_id or random_string(32),
            last_seen=now,
            amr=with_second_factor(pending.amr, added),
            mfa_time=now,
            epoch=pending.epoch,
        )

    def _failed(self, state: str, reason: str, forget: bool = False) -> Response:
        response = json_response(
            {"success": False, "state": state, "error": reason}, 200, self._headers
        )
        if forget:
            apply_cookies(response, self._forget(), self.provider.cookies.policy)
        return response

    def _completed(
        self, state: str, logon: Logon, hello: dict[str, Any] | None, extra: dict[str, Any]
    ) -> Response:
        body = {"success": True, "state": state, "hello": hello, **extra}
        response = json_response(body, 200, self._headers)
        cookies = self.provider.cookies
        signed_in = [cookies.logon(logon), cookies.delete_browser_state(), *self._forget()]
        apply_cookies(response, signed_in, cookies.policy)
        return response

    async def answer(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        """POST {method, code}: one answer to the pending sign-in."""
        with _stores_reachable(self.provider):
            return await self._answer(request, body, hello_answer)

    async def _answer(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        state = str(body.get("state", ""))
        method, code = body.get("method"), body.get("code")
        if method not in ANSWER_METHODS or not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
            raise OAuthError("invalid_request", "method and code required")
        pending = self._pending(request)
        if pending is None:
            return self._failed(state, "expired", forget=True)
        account = Account(pending.provider, pending.subject)
        verdict = await self._check(account, pending, str(method), code)
        return await self._concluded(state, pending, str(method), verdict, hello_answer)

    async def _concluded(
        self,
        state: str,
        pending: PendingSignIn,
        method: str,
        verdict: Verdict,
        hello_answer: HelloAnswer,
        added: tuple[str, ...] = SECOND_FACTOR_AMR,
    ) -> Response:
        """The answer to a checked second factor: signed in, or why not."""
        events = self.provider.events
        events.second_factor(verdict.value, pending.provider, pending.username, method)
        if verdict is not Verdict.ACCEPTED:
            if verdict is Verdict.THROTTLED:
                raise OAuthError("slow_down", "too many second factor attempts, try again later")
            forget = verdict in (Verdict.BURNED, Verdict.LOCKED)
            return self._failed(state, verdict.value, forget=forget)
        # The pending sign-in is used up: the same cookie cannot sign in twice.
        if not await self.provider.store.claim("mfa:done:" + pending.id, PENDING_MAX_AGE):
            return self._failed(state, "expired", forget=True)
        logon = self._signed_in(pending, added)
        return self._completed(state, logon, hello_answer(logon), {})

    async def _check(
        self, account: Account, pending: PendingSignIn, method: str, code: str
    ) -> Verdict:
        if method not in pending.methods:
            return Verdict.WRONG
        return await self.factors.check(account, pending.id, method, code)

    # -- setting up an authenticator app at sign-in -------------------------------------------
    async def enrol(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        """POST {step: "begin"}: a new key to scan; {step: "confirm", code}: store it once a
        valid code confirms it, and sign in with the recovery codes to show once."""
        with _stores_reachable(self.provider):
            return await self._enrol(request, body, hello_answer)

    async def _enrol(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        state = str(body.get("state", ""))
        pending = self._pending(request)
        if pending is None or not pending.enrol or "totp" not in self.factors.policy.methods:
            return self._failed(state, "expired", forget=pending is None)
        if body.get("step") == "begin":
            return self._offer(state, pending)
        code = body.get("code")
        if (
            body.get("step") != "confirm"
            or not isinstance(code, str)
            or len(code) > MAX_CODE_LENGTH
        ):
            raise OAuthError("invalid_request", "step and code required")
        token = request.cookies.get(self.enrolment_name, "")
        enrolment = open_enrolment(
            self.provider.cookies.sealer, token, pending.id, self.provider.now()
        )
        if enrolment is None:
            return self._failed(state, "expired")
        account = Account(pending.provider, pending.subject)
        if await self.factors.methods(account):
            # Set up meanwhile elsewhere: another factor needs that one first.
            return self._failed(state, "expired", forget=True)
        if is_locked(await self.factors.credentials.account_state(account)):
            return self._failed(state, "locked", forget=True)
        codes = await self.factors.enrol_totp(account, enrolment.id, enrolment.seed, code)
        if codes is None:
            return self._failed(state, "wrong")
        self.provider.events.second_factor("accepted", pending.provider, pending.username, "enrol")
        await self.provider.store.claim("mfa:done:" + pending.id, PENDING_MAX_AGE)
        logon = self._signed_in(pending)
        return self._completed(state, logon, hello_answer(logon), {"recovery_codes": codes})

    def _offer(self, state: str, pending: PendingSignIn) -> Response:
        now = self.provider.now()
        enrolment = Enrolment(random_string(24), pending.id, new_totp_seed(), now + PENDING_MAX_AGE)
        issuer = self.provider.endpoints.issuer
        uri = provisioning_uri(enrolment.seed, _issuer_label(issuer), pending.username)
        body = {
            "success": True,
            "state": state,
            "key": seed_text(enrolment.seed),
            "uri": uri,
            "qr": qr_svg(uri),
        }
        response = json_response(body, 200, self._headers)
        cookie = CookieSpec(
            self.enrolment_name,
            seal_enrolment(self.provider.cookies.sealer, enrolment),
            self.provider.endpoints.identifier_api,
            max_age=PENDING_MAX_AGE,
        )
        apply_cookies(response, [cookie], self.provider.cookies.policy)
        return response


def _issuer_label(issuer: str) -> str:
    """The issuer's host, as authenticator apps list the account under it."""
    host = issuer.split("://", 1)[-1].split("/", 1)[0]
    return host or issuer
