"""WebAuthn in the sign-in web app: a security key or passkey as the second step, setting
one up at sign-in (offered before an authenticator app), and a passkey sign-in without a
password (the sign-in page's button and the browser's autofill).

Each ceremony has two calls: `begin` answers the options for the browser and sets the
challenge, sealed, in a cookie of its own; `finish` sends the browser's credential, and the
challenge is claimed once before it is checked (see konnect.mfa.passkeys).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from konnect.identifier.mfa_api import HelloAnswer, SecondStep, _stores_reachable
from konnect.mfa import Account
from konnect.mfa.factors import SecondFactors, is_locked
from konnect.mfa.passkeys import PASSKEY, REGISTER, SECOND_FACTOR, Challenge, Passkeys
from konnect.mfa.policy import PENDING_MAX_AGE
from konnect.mfa.webauthn import CHALLENGE_MAX_AGE, WEBAUTHN_AMR, open_challenge, seal_challenge
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.responses import apply_cookies, json_response
from konnect.oidc.session import CookieSpec


def _step(body: dict[str, Any]) -> str:
    step = body.get("step")
    if step not in ("begin", "finish"):
        raise OAuthError("invalid_request", "step must be begin or finish")
    return str(step)


def _credential(body: dict[str, Any]) -> dict[str, Any]:
    credential = body.get("credential")
    if not isinstance(credential, dict) or not isinstance(credential.get("response"), dict):
        raise OAuthError("invalid_request", "credential required")
    return credential


class WebAuthnStep(SecondStep):
    """The second-step endpoints with WebAuthn beside codes."""

    def __init__(
        self,
        provider: Provider,
        factors: SecondFactors,
        passkeys: Passkeys,
        headers: dict[str, str],
    ):
        super().__init__(provider, factors, headers)
        self.passkeys = passkeys

    def _options(self, state: str, challenge: Challenge, options: dict[str, Any]) -> Response:
        body = {"success": True, "state": state, "options": options}
        response = json_response(body, 200, self._headers)
        cookie = CookieSpec(
            self.challenge_name,
            seal_challenge(self.provider.cookies.sealer, challenge),
            self.provider.endpoints.identifier_api,
            max_age=CHALLENGE_MAX_AGE,
        )
        apply_cookies(response, [cookie], self.provider.cookies.policy)
        return response

    def _challenge(self, request: Request, ceremony: str, pending_id: str) -> Challenge | None:
        token = request.cookies.get(self.challenge_name, "")
        sealer = self.provider.cookies.sealer
        return open_challenge(sealer, token, ceremony, pending_id, self.provider.now())

    # -- a security key or passkey as the second step --------------------------------------------
    async def security_key(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        """POST mfa/webauthn {step: begin | finish, credential}."""
        with _stores_reachable(self.provider):
            return await self._security_key(request, body, hello_answer)

    async def _security_key(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        state, step = str(body.get("state", "")), _step(body)
        pending = self._pending(request)
        if pending is None:
            return self._failed(state, "expired", forget=True)
        if "webauthn" not in pending.methods:
            return self._failed(state, "wrong")
        account = Account(pending.provider, pending.subject)
        if step == "begin":
            return self._options(
                state, *await self.passkeys.second_factor_options(account, pending.id)
            )
        credential = _credential(body)
        challenge = self._challenge(request, SECOND_FACTOR, pending.id)
        if challenge is None:
            return self._failed(state, "expired")
        verdict = await self.passkeys.check(account, pending.id, challenge, credential)
        return await self._concluded(
            state, pending, "webauthn", verdict, hello_answer, WEBAUTHN_AMR
        )

    # -- setting up a passkey at sign-in -----------------------------------------------------
    async def enrol_passkey(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        """POST mfa/enrol/webauthn {step: begin | finish, credential}: the user's first
        factor, with the recovery codes to show once."""
        with _stores_reachable(self.provider):
            return await self._enrol_passkey(request, body, hello_answer)

    async def _enrol_passkey(
        self, request: Request, body: dict[str, Any], hello_answer: HelloAnswer
    ) -> Response:
        state, step = str(body.get("state", "")), _step(body)
        pending = self._pending(request)
        if pending is None or not pending.enrol:
            return self._failed(state, "expired", forget=pending is None)
        account = Account(pending.provider, pending.subject)
        if step == "begin":
            offered = await self.passkeys.registration(
                account, pending.id, pending.username, pending.display_name
            )
            return self._options(state, *offered)
        credential = _credential(body)
        challenge = self._challenge(request, REGISTER, pending.id)
        if challenge is None:
            return self._failed(state, "expired")
        if await self.factors.methods(account):
            # Set up meanwhile elsewhere: another factor needs that one first.
            return self._failed(state, "expired", forget=True)
        if is_locked(await self.factors.credentials.account_state(account)):
            return self._failed(state, "locked", forget=True)
        codes = await self.passkeys.enrol(account, challenge, credential)
        if codes is None:
            return self._failed(state, "wrong")
        self.provider.events.second_factor("accepted", pending.provider, pending.username, "enrol")
        await self.provider.store.claim("mfa:done:" + pending.id, PENDING_MAX_AGE)
        logon = self._signed_in(pending, WEBAUTHN_AMR)
        return self._completed(state, logon, hello_answer(logon), {"recovery_codes": codes})

    # -- a passkey instead of the password ---------------------------------------------------
    def passkey_options(self, state: str) -> Response:
        return self._options(state, *self.passkeys.passkey_options())

    async def passkey_account(self, request: Request, body: dict[str, Any]) -> Account | None:
        """The account whose passkey answered, or None (no, expired or a used challenge)."""
        credential = _credential(body)
        challenge = self._challenge(request, PASSKEY, "")
        if challenge is None:
            return None
        with _stores_reachable(self.provider):
            return await self.passkeys.passkey_account(challenge, credential)

    def forget_challenge(self) -> CookieSpec:
        return CookieSpec(self.challenge_name, None, self.provider.endpoints.identifier_api)
