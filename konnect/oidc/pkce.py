"""PKCE (RFC 7636), S256 only: the challenge an authorization request carries, and the
verifier the token endpoint checks against it.

The authorization endpoint reads the challenge with `requested_challenge`; the code carries
it; the token endpoint's code grant runs `S256Verifier` (authlib's check of the verifier).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from authlib.oauth2.rfc7636 import CodeChallenge

from konnect.clients import ClientRegistration
from konnect.oidc.errors import OAuthError
from konnect.oidc.grants import Grant

S256 = "S256"
#: RFC 7636 §4.2: the unreserved characters a challenge is made of.
_CODE_CHALLENGE_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


def requested_challenge(
    params: Mapping[str, str], client: ClientRegistration, response_type: str
) -> str:
    """RFC 7636 §4.3 with S256 only; public clients must use it for codes (RFC 9700 §2.1.1).

    The challenge to keep with the code, or "" when the request returns no code or a
    confidential client sent none."""
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if "code" not in response_type.split():
        return ""
    if not challenge:
        if method:
            raise OAuthError("invalid_request", "code_challenge is missing")
        if client.is_public:
            raise OAuthError("invalid_request", "public clients must use PKCE (S256)")
        return ""
    if method != S256:
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not 43 <= len(challenge) <= 128 or not set(challenge) <= _CODE_CHALLENGE_CHARS:
        raise OAuthError("invalid_request", "code_challenge is malformed")
    return challenge


class CodeRecord(Protocol):
    """An opened authorization code, as the token endpoint's code grant sees it."""

    grant: Grant


class S256Verifier(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 §4.6 at the token endpoint: the code_verifier must match the code's challenge."""

    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]
    DEFAULT_CODE_CHALLENGE_METHOD = S256

    def get_authorization_code_challenge(self, authorization_code: CodeRecord) -> str:
        return authorization_code.grant.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeRecord) -> str:
        return S256
