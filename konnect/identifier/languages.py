"""The web app's message catalogues (`static/i18n/<lang>.json`) and choosing a page's language.

A language is chosen from the request's `ui_locales` first, then the visitor's own choice in
the web app (a cookie), then `Accept-Language`; English fills any message a catalogue lacks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from konnect.config.errors import ConfigError

DEFAULT = "en"
COOKIE = "konnect-lang"
_CODE = re.compile(r"[a-z]{2,3}")
_NAME_KEY = "language.name"


@dataclass(frozen=True)
class Catalogs:
    """Messages per language code (English merged under each) and each language's own name."""

    messages: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, folder: Path) -> Catalogs:
        """The catalogues in `folder`; a web app without any (Konnect's own) gets none."""
        if not folder.is_dir():
            return cls(MappingProxyType({DEFAULT: MappingProxyType({})}))
        raw = {path.stem: _read(path) for path in sorted(folder.glob("*.json"))}
        bad = [code for code in raw if _CODE.fullmatch(code) is None]
        if DEFAULT not in raw or bad:
            raise ConfigError(
                [f"identifier client: {folder} needs {DEFAULT}.json and lower-case language codes"]
            )
        english = raw[DEFAULT]
        merged = {code: MappingProxyType({**english, **messages}) for code, messages in raw.items()}
        return cls(MappingProxyType(merged))

    @property
    def names(self) -> dict[str, str]:
        """Language code -> the language's name in itself, ordered by that name."""
        pairs = ((code, messages.get(_NAME_KEY, code)) for code, messages in self.messages.items())
        return dict(sorted(pairs, key=lambda pair: pair[1].casefold()))

    def match(self, tag: str) -> str | None:
        """The catalogue for one BCP 47 tag (`de-AT` falls back to `de`), if any."""
        tag = tag.strip().lower().replace("_", "-")
        if tag in self.messages:
            return tag
        primary = tag.split("-", 1)[0]
        return primary if primary in self.messages else None

    def choose(self, ui_locales: str, chosen: str, accept_language: str) -> str:
        candidates = [*ui_locales.split(), chosen, *_accepted(accept_language)]
        for tag in candidates:
            code = self.match(tag) if tag else None
            if code is not None:
                return code
        return DEFAULT


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError([f"identifier client: cannot read {path}: {error}"]) from None
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise ConfigError([f"identifier client: {path} must map message keys to strings"])
    return data


def _accepted(header: str) -> Iterable[str]:
    """Accept-Language tags, most preferred first (RFC 9110 §12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]
