"""What the authorization endpoint answers; `endpoints.py` translates it into HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

from konnect.oidc.errors import OAuthError
from konnect.oidc.session import CookieSpec


@dataclass
class Outcome:
    """What to answer: a redirect (to the client or the sign-in page) or an error page."""

    location: str = ""
    error: OAuthError | None = None
    cookies: list[CookieSpec] = field(default_factory=list)
    form_post: dict[str, str] | None = None  # response_mode=form_post: POST these to location
