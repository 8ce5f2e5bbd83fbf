"""Serving the sign-in web app (`identifier_ui/`) at Konnect's paths, with a strict CSP.

At startup index.html is rendered once per language (branding, the language's messages and
the content-hashed asset URLs filled in, every value escaped); a request then only picks the
language and adds a fresh CSP nonce. Static files are served from memory.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from konnect.config.errors import ConfigError
from konnect.identifier.assets import AssetStore
from konnect.identifier.branding import Branding, Image, branding_css
from konnect.identifier.languages import COOKIE, Catalogs
from konnect.oidc.errors import OAuthError
from konnect.oidc.provider import Provider
from konnect.oidc.responses import NO_CACHE, error_page

PAGES = (
    "identifier",
    "chooseaccount",
    "consent",
    "welcome",
    "goodbye",
    "index.html",
    "jitsi/invite",
    "jitsi/join",
)
#: The security page, where a signed-in user manages their factors: only with MFA on.
SECURITY_PAGE = "identifier/security"
NONCE = "__CSP_NONCE__"
_PLACEHOLDER = re.compile(r"__(PATH_PREFIX|KONNECT_[A-Z]+)__(/static/[\w./-]+)?")
_STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Vary": "Accept-Encoding",
}
_IMMUTABLE = "public, max-age=31536000, immutable"


def content_security_policy(nonce: str, image_origins: Iterable[str] = ()) -> str:
    images = " ".join(("'self'", "data:", *image_origins))
    return (
        f"default-src 'self'; img-src {images}; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'; object-src 'none'"
    )


def _text(value: str) -> str:
    """HTML-escaped text that cannot be mistaken for a placeholder."""
    return html.escape(value).replace("__", "_&#95;")


def _json_block(value: object) -> str:
    """JSON that is safe as the content of a `<script type="application/json">` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.replace("__", "_\\u005f")


def load_index(folder: Path) -> str:
    index = folder / "index.html"
    try:
        return index.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(
            [f"identifier client: {index} is missing (set --identifier-client-path)"]
        ) from None


@dataclass
class WebApp:
    """The rendered pages and the assets of one sign-in web app."""

    prefix: str
    template: str = ""
    assets: AssetStore = field(default_factory=lambda: AssetStore(""))
    catalogs: Catalogs = field(default_factory=lambda: Catalogs({}))
    branding: Branding = field(default_factory=Branding)
    image_origins: tuple[str, ...] = ()
    authorities: tuple[tuple[str, str], ...] = ()  # (id, name) of each upstream provider
    #: The second factors on offer (MFA on), so the pages show passkeys where they can.
    mfa_methods: tuple[str, ...] = ()
    rendered: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        folder: Path,
        prefix: str,
        branding: Branding | None = None,
        image_origins: Iterable[str] = (),
        authorities: Iterable[tuple[str, str]] = (),
        mfa_methods: Iterable[str] = (),
    ) -> WebApp:
        branding = branding or Branding()
        static = folder / "static"
        app = cls(
            prefix=prefix,
            template=load_index(folder),
            assets=AssetStore(prefix + "/static/"),
            catalogs=Catalogs.load(static / "i18n"),
            branding=branding,
            image_origins=tuple(dict.fromkeys([*branding.image_origins, *image_origins])),
            authorities=tuple(authorities),
            mfa_methods=tuple(mfa_methods),
        )
        if static.is_dir():
            app.assets.add_folder(static, skip=("i18n", "branding"))
        app.add_generated()
        app.rendered = {code: app.render(code) for code in app.catalogs.messages}
        return app

    @classmethod
    def disabled(cls, prefix: str) -> WebApp:
        return cls(prefix=prefix)

    # -- startup ----------------------------------------------------------------------------
    def add_generated(self) -> None:
        """Catalogues (with English merged in), branding images and the branding stylesheet."""
        for code, messages in self.catalogs.messages.items():
            body = json.dumps(dict(messages), ensure_ascii=False, separators=(",", ":"))
            self.assets.add(f"i18n/{code}.json", body.encode())
        background = self._image_url("background", self.branding.background)
        self._image_url("logo", self.branding.logo)
        css = branding_css(self.branding, background)
        if css:
            self.assets.add("branding/branding.css", css.encode(), plain=False)

    def _image_url(self, name: str, image: Image | None) -> str:
        if image is None:
            return ""
        if image.url:
            return image.url
        return self.assets.add(f"branding/{name}{image.suffix}", image.body, plain=False)

    def render(self, lang: str, error: Mapping[str, str] | None = None) -> str:
        """index.html in one language; `error` shows the error screen instead of signing in."""
        messages = self.catalogs.messages[lang]
        values = {
            "PATH_PREFIX": html.escape(self.prefix),
            "KONNECT_LANG": lang,
            "KONNECT_TITLE": _text(self.branding.product_name or messages.get("app.title", "")),
            "KONNECT_HEAD": self._head(),
            "KONNECT_BRAND": self._brand(),
            "KONNECT_ICON": html.escape(self._icon()),
            "KONNECT_NOSCRIPT": _text(messages.get("app.noscript", "")),
            "KONNECT_CONFIG": _json_block(self._config(lang, error)),
        }

        def replace(match: re.Match[str]) -> str:
            name, static = match.group(1), match.group(2)
            if static and name == "PATH_PREFIX":
                asset = static.removeprefix("/static/")
                if asset in self.assets.names:
                    return html.escape(self.assets.url(asset))
                return values[name] + static
            return values.get(name, match.group(0)) + (static or "")

        return _PLACEHOLDER.sub(replace, self.template)

    def _config(self, lang: str, error: Mapping[str, str] | None) -> dict[str, Any]:
        config: dict[str, Any] = {
            "lang": lang,
            "messages": dict(self.catalogs.messages[lang]),
            "languages": self.catalogs.names,
            "catalogs": {
                code: self.assets.url(f"i18n/{code}.json") for code in self.catalogs.names
            },
            "product": self.branding.product_name,
        }
        if self.authorities:
            config["authorities"] = [{"id": key, "name": name} for key, name in self.authorities]
        if self.mfa_methods:
            config["mfaMethods"] = list(self.mfa_methods)
        if error is not None:
            config["error"] = dict(error)
        return config

    def _head(self) -> str:
        if "branding/branding.css" not in self.assets.names:
            return ""
        url = html.escape(self.assets.url("branding/branding.css"))
        return f'<link rel="stylesheet" href="{url}">'

    def _logo_url(self) -> str:
        logo = self.branding.logo
        if logo is None:
            return ""
        return logo.url or self.assets.url(f"branding/logo{logo.suffix}")

    def _icon(self) -> str:
        if self.branding.logo is not None:
            return self._logo_url()
        return self.assets.url("favicon.svg") if "favicon.svg" in self.assets.names else "data:,"

    def _brand(self) -> str:
        parts = []
        if self.branding.logo is not None:
            src = html.escape(self._logo_url())
            parts.append(f'<img class="brand-logo" src="{src}" alt="">')
        else:
            parts.append('<span class="brand-mark" aria-hidden="true"></span>')
        if self.branding.product_name:
            parts.append(f'<span class="brand-name">{_text(self.branding.product_name)}</span>')
        return "".join(parts)

    # -- requests ---------------------------------------------------------------------------
    def language(self, request: Request) -> str:
        return self.catalogs.choose(
            request.query_params.get("ui_locales", ""),
            request.cookies.get(COOKIE, ""),
            request.headers.get("accept-language", ""),
        )

    def _page_response(self, body: str, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(16)
        headers = {
            **NO_CACHE,
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": content_security_policy(nonce, self.image_origins),
            "Vary": "Accept-Language, Cookie",
        }
        return Response(
            body.replace(NONCE, nonce, 1), status, headers=headers, media_type="text/html"
        )

    async def page(self, request: Request) -> Response:
        if not self.rendered:
            return self._page_response("")
        return self._page_response(self.rendered[self.language(request)])

    def error_response(self, request: Request, error: OAuthError) -> Response:
        """The web app's error screen for a request that cannot go back to its client."""
        if not self.rendered:
            return error_page(request, error)
        details = {"error": error.error, "description": error.description}
        return self._page_response(self.render(self.language(request), details), error.status)

    async def static(self, request: Request) -> Response:
        found = self.assets.find(str(request.path_params["path"]))
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        asset, immutable = found
        headers = {
            **_STATIC_HEADERS,
            "Cache-Control": _IMMUTABLE if immutable else "no-cache",
            "ETag": asset.etag,
        }
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.body
        if asset.gzipped and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers, media_type=asset.media_type)

    def routes(self) -> list[Route]:
        prefix = self.prefix
        pages = (*PAGES, SECURITY_PAGE) if self.mfa_methods else PAGES
        routes = [Route(f"{prefix}/{name}", self.page, methods=["GET", "HEAD"]) for name in pages]
        routes.append(Route(prefix + "/static/{path:path}", self.static, methods=["GET", "HEAD"]))
        return routes


def client_logo_origins(provider: Provider) -> list[str]:
    """Origins of registered clients' https logos, which the consent screen may show."""
    origins = []
    for client in provider.clients:
        if client.logo_uri.startswith("https://"):
            host = client.logo_uri[len("https://") :].split("/", 1)[0]
            if host and re.fullmatch(r"[\w.:\[\]-]+", host):
                origins.append("https://" + host)
    return origins


def build_webapp(
    provider: Provider,
    folder: Path,
    *,
    disabled: bool = False,
    branding: Branding | None = None,
    authorities: Iterable[tuple[str, str]] = (),
) -> WebApp:
    prefix = provider.endpoints.signin_prefix
    if disabled:
        return WebApp.disabled(prefix)
    factors = provider.second_factors
    methods = factors.policy.methods if factors is not None else ()
    return WebApp.build(
        folder, prefix, branding, client_logo_origins(provider), authorities, methods
    )
