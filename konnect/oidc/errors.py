"""The protocol error tree: one exception type that knows how it renders.

An `OAuthError` carries the OAuth/OIDC error code, a public description, a private detail for
the log, and its HTTP status (from one table). Whether it may be redirected to the client is
decided by the caller: only after the client and its redirect_uri are verified.

It is the only error konnect's protocol code raises. authlib's errors stay inside authlib's
engine: the token endpoint turns them into an OAuthError where they leave it
(`token_endpoint.from_authlib`). The renderers per route style are in `responses` (JSON,
bearer, page) and `authorize.respond` (redirect).
"""

from __future__ import annotations

STATUS_BY_ERROR: dict[str, int] = {
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_grant": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "unsupported_response_type": 400,
    "invalid_scope": 400,
    "insufficient_scope": 403,
    "invalid_token": 401,
    "access_denied": 403,
    "login_required": 400,
    "consent_required": 400,
    "interaction_required": 400,
    "account_selection_required": 400,
    "unmet_authentication_requirements": 400,
    "request_not_supported": 400,
    "invalid_request_object": 400,
    "invalid_request_uri": 400,
    "registration_not_supported": 400,
    "temporarily_unavailable": 503,
    "slow_down": 429,
    "server_error": 500,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "unsupported_media_type": 415,
}


class OAuthError(Exception):
    """A protocol error with a public description and an optional private detail."""

    def __init__(
        self, error: str, description: str = "", *, detail: str = "", status: int | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.detail = detail
        self.status = status or STATUS_BY_ERROR.get(error, 400)

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body
