"""The security page's endpoints: a signed-in user lists, names and removes their second
factors, adds a passkey, security key or authenticator app, and renews the recovery codes.

Each change needs a second factor from the last five minutes when the user already has
one; otherwise the answer is `{"error": "stepup"}` with a pending sign-in that keeps the
sign-in session (the second step's endpoints answer it, and the page comes back). A new
authenticator app is stored only after a valid code confirms it. The rules themselves live
in konnect.mfa.security.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from konnect.crypto import random_string
from konnect.identifier.mfa_api import (
    MAX_CODE_LENGTH,
    SecondStep,
    _issuer_label,
    _stores_reachable,
    user_now,
)
from konnect.mfa import Account
from konnect.mfa.factors import Verdict
from konnect.mfa.model import KIND_RECOVERY, KIND_TOTP, KIND_WEBAUTHN
from konnect.mfa.passkeys import REGISTER
from konnect.mfa.pending import Enrolment, open_enrolment, seal_enrolment
from konnect.mfa.policy import PENDING_MAX_AGE
from konnect.mfa.qr import qr_svg
from konnect.mfa.security import MAX_NAME_LENGTH, OwnFactors, Removal, clean_name
from konnect.mfa.totp import new_totp_seed, provisioning_uri, seed_text
from konnect.oidc.errors import OAuthError
from konnect.oidc.responses import apply_cookies, json_response
from konnect.oidc.session import CookieSpec, Logon
from konnect.oidc.signin_sessions import current_logon

#: The security page's operations, by the last part of their path.
ACTIONS = ("overview", "rename", "remove", "totp", "webauthn", "recovery")


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user the security page is for."""

    logon: Logon
    account: Account
    groups: tuple[str, ...]


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise OAuthError("invalid_request", f"{key} must be a string of at most {limit}")
    return value


class SecurityPage:
    """The security page's endpoints over the second step of `step`."""

    def __init__(self, step: SecondStep, headers: dict[str, str]) -> None:
        self.step = step
        self.provider = step.provider
        self.factors = step.factors
        self.own = OwnFactors(step.factors)
        self._headers = headers

    # -- who and whether ---------------------------------------------------------------------
    async def signed_in(self, logon: Logon) -> SignedIn | None:
        """The user of a sign-in with the identity backend, or None for one whose factors
        are not kept here (a user only an upstream authority knows, or one now gone)."""
        provider = self.provider
        if logon.provider != provider.backend.name:
            return None
        user = await user_now(provider, logon)
        if user is None:
            return None
        return SignedIn(logon, Account(logon.provider, logon.subject), tuple(user.groups))

    async def _step_up(self, who: SignedIn, state: str, kind: str) -> Response | None:
        """The step-up answer when the change needs a fresher second factor, else None."""
        logon, account = who.logon, who.account
        methods = await self.factors.methods(account)
        if not methods or self.own.fresh(logon.amr, logon.mfa_time, self.provider.now()):
            return None
        self._audit(who, "refused", kind, "stepup")
        pending = self.step.pending_of(logon, methods)
        body = {**self.step.describe(pending, state), "success": False, "error": "stepup"}
        response = json_response(body, 200, self._headers)
        apply_cookies(response, [self.step.pending_cookie(pending)], self.provider.cookies.policy)
        return response

    def _audit(self, who: SignedIn, action: str, kind: str, reason: str | None = None) -> None:
        logon = who.logon
        self.provider.events.own_factor(action, logon.provider, logon.username, kind, reason)

    def _answer(self, state: str, **values: Any) -> Response:
        return json_response({"state": state, **values}, 200, self._headers)

    def _failed(self, state: str, reason: str) -> Response:
        return self._answer(state, success=False, error=reason)

    # -- the operations ------------------------------------------------------------------------
    async def serve(self, request: Request, action: str, body: dict[str, Any]) -> Response | None:
        """The answer to one operation; None when the browser is not signed in. A store
        that cannot answer refuses the change (fails closed) and says so."""
        with _stores_reachable(self.provider):
            logon = await current_logon(self.provider, request.cookies)
            if logon is None:
                return None
            who = await self.signed_in(logon)
            if who is None:
                return self._failed(str(body.get("state", "")), "unavailable")
            return await self.handle(request, action, who, body)

    async def handle(
        self, request: Request, action: str, who: SignedIn, body: dict[str, Any]
    ) -> Response:
        state = str(body.get("state", ""))
        if action == "overview":
            return await self.overview(who, state)
        kind = {"totp": KIND_TOTP, "webauthn": KIND_WEBAUTHN, "recovery": KIND_RECOVERY}.get(
            action, ""
        )
        if action in ("rename", "remove"):
            kind = _text(body, "kind", 16)
        stepped_up = await self._step_up(who, state, kind)
        if stepped_up is not None:
            return stepped_up
        if action == "rename":
            return await self.rename(who, state, kind, body)
        if action == "remove":
            return await self.remove(who, state, kind, body)
        if action in ("totp", "webauthn") and not await self._may_add(who.account):
            self._audit(who, "refused", kind, "admin_only")
            return self._failed(state, "admin_only")
        if action == "totp":
            return await self.add_totp(request, who, state, body)
        if action == "webauthn":
            return await self.add_webauthn(request, who, state, body)
        return await self.renew_codes(who, state)

    async def _may_add(self, account: Account) -> bool:
        """With `mfa_enrolment = admin_only` an administrator sets up the first factor."""
        return self.factors.policy.enrol_at_sign_in or await self.own.has_factor(account)

    async def overview(self, who: SignedIn, state: str) -> Response:
        account, logon = who.account, who.logon
        listed = [
            {
                "kind": view.kind,
                "id": view.id,
                "name": view.name,
                "created": view.created,
                "lastUsed": view.last_used,
            }
            for view in await self.own.listed(account)
        ]
        return self._answer(
            state,
            success=True,
            username=logon.username,
            displayName=logon.display_name,
            factors=listed,
            recoveryCodes=await self.own.recovery_codes_left(account),
            required=self.own.required_for(who.groups),
            fresh=self.own.fresh(logon.amr, logon.mfa_time, self.provider.now()),
            methods=list(self.factors.policy.methods),
            mayAdd=await self._may_add(account),
        )

    async def rename(self, who: SignedIn, state: str, kind: str, body: dict[str, Any]) -> Response:
        factor_id = _text(body, "id", 512)
        name = _text(body, "name", MAX_NAME_LENGTH * 4)
        if not await self.own.rename(who.account, kind, factor_id, name):
            return self._failed(state, "missing")
        self._audit(who, "renamed", kind)
        return self._answer(state, success=True)

    async def remove(self, who: SignedIn, state: str, kind: str, body: dict[str, Any]) -> Response:
        factor_id = _text(body, "id", 512)
        outcome = await self.own.remove(who.account, kind, factor_id, who.groups)
        if outcome is Removal.PROTECTED:
            self._audit(who, "refused", kind, "last_factor")
            return self._failed(state, "protected")
        if outcome is Removal.MISSING:
            return self._failed(state, "missing")
        self._audit(who, "removed", kind)
        return self._answer(state, success=True)

    async def renew_codes(self, who: SignedIn, state: str) -> Response:
        codes = await self.own.renew_recovery_codes(who.account)
        if codes is None:
            return self._failed(state, "missing")
        self._audit(who, "codes_renewed", KIND_RECOVERY)
        return self._answer(state, success=True, recovery_codes=codes)

    # -- adding an authenticator app -----------------------------------------------------------
    async def add_totp(
        self, request: Request, who: SignedIn, state: str, body: dict[str, Any]
    ) -> Response:
        """{step: begin}: a new key to scan; {step: confirm, code, name}: stored once a valid
        code confirms it (counted as any answer), with recovery codes if it is the first."""
        if "totp" not in self.factors.policy.methods:
            raise OAuthError("invalid_request", "authenticator apps are not offered")
        if body.get("step") == "begin":
            return self._offer_totp(who, state)
        if body.get("step") != "confirm":
            raise OAuthError("invalid_request", "step must be begin or confirm")
        code = _text(body, "code", MAX_CODE_LENGTH)
        name = _text(body, "name", MAX_NAME_LENGTH * 4)
        token = request.cookies.get(self.step.enrolment_name, "")
        enrolment = open_enrolment(
            self.provider.cookies.sealer, token, who.logon.session_id, self.provider.now()
        )
        if enrolment is None:
            return self._failed(state, "expired")
        codes: list[str] | None = None

        async def confirmed() -> bool:
            nonlocal codes
            codes = await self.factors.enrol_totp(
                who.account, enrolment.id, enrolment.seed, code, clean_name(name)
            )
            return codes is not None

        verdict = await self.factors.counted(who.account, "security-" + enrolment.id, confirmed)
        return self._added(who, state, KIND_TOTP, verdict, codes)

    def _added(
        self, who: SignedIn, state: str, kind: str, verdict: Verdict, codes: list[str] | None
    ) -> Response:
        if verdict is Verdict.THROTTLED:
            raise OAuthError("slow_down", "too many second factor attempts, try again later")
        if verdict is not Verdict.ACCEPTED or codes is None:
            self._audit(who, "refused", kind, verdict.value)
            reason = "expired" if verdict is Verdict.BURNED else verdict.value
            return self._failed(state, reason)
        self._audit(who, "added", kind)
        return self._answer(state, success=True, recovery_codes=codes)

    def _offer_totp(self, who: SignedIn, state: str) -> Response:
        now = self.provider.now()
        logon = who.logon
        enrolment = Enrolment(
            random_string(24), logon.session_id, new_totp_seed(), now + PENDING_MAX_AGE
        )
        issuer = _issuer_label(self.provider.endpoints.issuer)
        uri = provisioning_uri(enrolment.seed, issuer, logon.username)
        response = self._answer(
            state, success=True, key=seed_text(enrolment.seed), uri=uri, qr=qr_svg(uri)
        )
        cookie = CookieSpec(
            self.step.enrolment_name,
            seal_enrolment(self.provider.cookies.sealer, enrolment),
            self.provider.endpoints.identifier_api,
            max_age=PENDING_MAX_AGE,
        )
        apply_cookies(response, [cookie], self.provider.cookies.policy)
        return response

    # -- adding a passkey or security key ------------------------------------------------------
    async def add_webauthn(
        self, request: Request, who: SignedIn, state: str, body: dict[str, Any]
    ) -> Response:
        """{step: begin}: the options to create a credential; {step: finish, credential,
        name}: stored when it answers the challenge (claimed once)."""
        from konnect.identifier.passkey_api import WebAuthnStep, _credential, _step

        step = self.step
        if not isinstance(step, WebAuthnStep):
            raise OAuthError("invalid_request", "WebAuthn is not offered")
        logon, session_id = who.logon, who.logon.session_id
        if _step(body) == "begin":
            offered = await step.passkeys.registration(
                who.account, session_id, logon.username, logon.display_name
            )
            return step._options(state, *offered)
        credential = _credential(body)
        name = _text(body, "name", MAX_NAME_LENGTH * 4)
        challenge = step._challenge(request, REGISTER, session_id)
        if challenge is None:
            return self._failed(state, "expired")
        codes = await step.passkeys.enrol(who.account, challenge, credential, clean_name(name))
        verdict = Verdict.WRONG if codes is None else Verdict.ACCEPTED
        return self._added(who, state, KIND_WEBAUTHN, verdict, codes)
