"""Endpoint paths and public URLs, derived once from the issuer and the base path."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Endpoints:
    """Konnect's paths (with `--uri-base-path`) and the absolute URLs published for them."""

    issuer: str
    base_path: str = ""
    sign_in_uri: str | None = None  # --sign-in-uri: a path on the issuer's host or a URL

    @property
    def signin_url(self) -> str:
        """Where browsers go to sign in: the bundled web app or `--sign-in-uri`."""
        if not self.sign_in_uri:
            return self.url(self.signin_page)
        if self.sign_in_uri.startswith("/"):
            return self.url(self.sign_in_uri)
        return self.sign_in_uri

    @property
    def origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure(self) -> bool:
        return self.issuer.startswith("https://")

    def url(self, path: str) -> str:
        return self.origin + path

    @property
    def discovery(self) -> str:
        return "/.well-known/openid-configuration"

    @property
    def health(self) -> str:
        return "/health-check"

    @property
    def jwks(self) -> str:
        return f"{self.base_path}/konnect/v1/jwks.json"

    @property
    def token(self) -> str:
        return f"{self.base_path}/konnect/v1/token"

    @property
    def userinfo(self) -> str:
        return f"{self.base_path}/konnect/v1/userinfo"

    @property
    def signin_prefix(self) -> str:
        return f"{self.base_path}/signin/v1"

    @property
    def identifier_api(self) -> str:
        """Folder of the identifier API, authorize and end session (trailing slash)."""
        return f"{self.base_path}/signin/v1/identifier/_/"

    @property
    def authorize(self) -> str:
        return self.identifier_api + "authorize"

    @property
    def endsession(self) -> str:
        return self.identifier_api + "endsession"

    @property
    def signin_page(self) -> str:
        return f"{self.signin_prefix}/identifier"

    @property
    def goodbye_page(self) -> str:
        return f"{self.signin_prefix}/goodbye"

    @property
    def session_path(self) -> str:
        return f"{self.base_path}/konnect/v1/session/"


@dataclass(frozen=True)
class CookiePolicy:
    """Cookie naming and attributes: `__Secure-` and SameSite=None over https, as Konnect does.

    A plain-http loopback issuer (for trying konnect out) cannot use `Secure` cookies, so
    there the names lose the prefix and SameSite becomes Lax.
    """

    secure: bool

    @property
    def prefix(self) -> str:
        return "__Secure-" if self.secure else ""

    @property
    def samesite(self) -> str:
        return "none" if self.secure else "lax"

    def name(self, base: str) -> str:
        return self.prefix + base
