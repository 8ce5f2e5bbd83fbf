"""The web app's static files, read once at startup and served under content-hashed names.

`app.js` is also reachable as `app.<hash>.js`; the hashed name never changes its content, so
it may be cached for a year, while the plain name stays revalidated on every use.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from konnect.config.model import BRANDING_IMAGE_TYPES

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    **BRANDING_IMAGE_TYPES,
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
_COMPRESSIBLE = (".js", ".css", ".json", ".svg")
_MIN_COMPRESS = 512


@dataclass(frozen=True)
class Asset:
    """One file's bytes, its type, an entity tag and (when worth it) a gzip copy."""

    body: bytes
    media_type: str
    etag: str
    gzipped: bytes = b""


def hashed_name(name: str, body: bytes) -> str:
    """`i18n/de.json` -> `i18n/de.<10 hex digits of its SHA-256>.json`."""
    path = PurePosixPath(name)
    digest = hashlib.sha256(body).hexdigest()[:10]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def _asset(body: bytes, media_type: str, suffix: str) -> Asset:
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    gzipped = b""
    if suffix in _COMPRESSIBLE and len(body) >= _MIN_COMPRESS:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else b""
    return Asset(body, media_type, etag, gzipped)


@dataclass
class AssetStore:
    """Assets by plain name and by hashed name, with the public URL of each."""

    url_base: str
    plain: dict[str, Asset] = field(default_factory=dict)
    hashed: dict[str, Asset] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, body: bytes, *, plain: bool = True) -> str:
        """Store a file; returns the URL of its hashed name."""
        suffix = PurePosixPath(name).suffix.lower()
        asset = _asset(body, MEDIA_TYPES[suffix], suffix)
        hashed = hashed_name(name, body)
        self.hashed[hashed] = asset
        self.names[name] = hashed
        if plain:
            self.plain[name] = asset
        return self.url(name)

    def url(self, name: str) -> str:
        return self.url_base + self.names[name]

    def find(self, path: str) -> tuple[Asset, bool] | None:
        """The asset at a request path and whether that name is immutable."""
        if path in self.hashed:
            return self.hashed[path], True
        if path in self.plain:
            return self.plain[path], False
        return None

    def add_folder(self, folder: Path, skip: tuple[str, ...] = ()) -> None:
        """Every servable file below `folder`, except those below the `skip` subfolders."""
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if (
                path.is_file()
                and path.suffix.lower() in MEDIA_TYPES
                and not relative.startswith(tuple(f"{name}/" for name in skip))
                and not any(part.startswith(".") for part in path.relative_to(folder).parts)
            ):
                self.add(relative, path.read_bytes())
