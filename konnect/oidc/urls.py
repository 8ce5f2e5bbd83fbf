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
    signed_out_uri: str | None = None  # --signed-out-uri: likewise

    def _page(self, configured: str | None, default_path: str) -> str:
        if not configured:
            return self.url(default_path)
        return self.url(configured) if configured.startswith("/") else configured

    @property
    def signin_url(self) -> str:
        """Where browsers go to sign in: the bundled web app or `--sign-in-uri`."""
        return self._page(self.sign_in_uri, self.signin_page)

    @property
    def signed_out_url(self) -> str:
        """Where browsers go after signing out: the bundled page or `--signed-out-uri`."""
        return self._page(self.signed_out_uri, self.goodbye_page)

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
    def revocation(self) -> str:
        return f"{self.base_path}/konnect/v1/revoke"

    @property
    def introspection(self) -> str:
        return f"{self.base_path}/konnect/v1/introspect"

    @property
    def registration(self) -> str:
        """Dynamic client registration; a client's configuration is at `<this>/<client_id>`."""
        return f"{self.base_path}/konnect/v1/register"

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
    def logout_frames(self) -> str:
        """The page that loads the front-channel logout URIs after a web app sign-out."""
        return self.identifier_api + "logout-frames"

    @property
    def signin_page(self) -> str:
        return f"{self.signin_prefix}/identifier"

    @property
    def goodbye_page(self) -> str:
        return f"{self.signin_prefix}/goodbye"

    @property
    def check_session(self) -> str:
        return self.session_path + "check-session.html"

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
