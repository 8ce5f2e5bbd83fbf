"""Parsing request parameters once, strictly (RFC 6749 §3.1: no parameter more than once)."""

from __future__ import annotations

from collections.abc import Iterable

from konnect.oidc.errors import OAuthError

MAX_PARAMETER_LENGTH = 8192
MAX_PARAMETERS = 64


def single_valued(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; a repeated or oversized parameter is an `invalid_request`.

    Empty values count as absent (RFC 6749 §3.1).
    """
    params: dict[str, str] = {}
    for count, (key, value) in enumerate(pairs, start=1):
        if count > MAX_PARAMETERS:
            raise OAuthError("invalid_request", "too many parameters")
        if len(value) > MAX_PARAMETER_LENGTH or len(key) > 128:
            raise OAuthError("invalid_request", "a parameter is too long")
        if key in params:
            raise OAuthError("invalid_request", "a parameter is repeated")
        if value != "":
            params[key] = value
    return params
