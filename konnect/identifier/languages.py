"""The web app's message catalogues (`static/i18n/<tag>.json`) and choosing a page's language.

A catalogue is named by its BCP 47 tag in the usual case (`de.json`, `pt-PT.json`). A language
is chosen from the request's `ui_locales` first, then the visitor's own choice in the web app
(a cookie), then `Accept-Language`; tags match case-insensitively, a regional tag falls back to
its language (`de-AT` to `de`, `pt` and `pt-BR` to `pt-PT`), and a Norwegian tag (`no`, `nn`)
to Bokmål. English fills any message a catalogue lacks.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from konnect.config.errors import ConfigError

DEFAULT = "en"
COOKIE = "konnect-lang"
_TAG = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2}|-[0-9]{3})?")
_NAME_KEY = "language.name"
# A language without a catalogue of its own whose readers read another one: `no` is the
# macrolanguage of Bokmål and Nynorsk, and Nynorsk readers read Bokmål every day.
_RELATED = {"no": "nb", "nn": "nb"}


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
        bad = [code for code in raw if _TAG.fullmatch(code) is None]
        if DEFAULT not in raw or bad:
            raise ConfigError(
                [
                    f"identifier client: {folder} needs {DEFAULT}.json, and catalogues named by "
                    "language tag (de.json, pt-PT.json)"
                ]
            )
        english = raw[DEFAULT]
        merged = {code: MappingProxyType({**english, **messages}) for code, messages in raw.items()}
        return cls(MappingProxyType(merged))

    @property
    def names(self) -> dict[str, str]:
        """Language code -> the language's name in itself, ordered by that name."""
        pairs = ((code, messages.get(_NAME_KEY, code)) for code, messages in self.messages.items())
        return dict(sorted(pairs, key=lambda pair: _sort_key(pair[1])))

    @cached_property
    def _by_tag(self) -> dict[str, str]:
        return {code.lower(): code for code in self.messages}

    @cached_property
    def _by_language(self) -> dict[str, str]:
        """Language subtag -> its catalogue: the one named by the subtag alone, else the first
        regional one (`pt` -> `pt-PT` while there is no `pt.json`)."""
        found: dict[str, str] = {}
        for code in sorted(self.messages, key=lambda code: (len(code), code)):
            found.setdefault(code.split("-", 1)[0], code)
        return found

    def match(self, tag: str) -> str | None:
        """The catalogue for one BCP 47 tag, if any: the tag itself or a shorter prefix of it
        (RFC 4647 §3.4 lookup), else another catalogue of its language or a related one."""
        subtags = tag.strip().lower().replace("_", "-").split("-")
        for end in range(len(subtags), 0, -1):
            code = self._by_tag.get("-".join(subtags[:end]))
            if code is not None:
                return code
        language = subtags[0]
        if language in self._by_language:
            return self._by_language[language]
        related = _RELATED.get(language)
        return self._by_language.get(related) if related else None

    def choose(self, ui_locales: str, chosen: str, accept_language: str) -> str:
        candidates = [*ui_locales.split(), chosen, *_accepted(accept_language)]
        for tag in candidates:
            code = self.match(tag) if tag else None
            if code is not None:
                return code
        return DEFAULT


def _sort_key(name: str) -> str:
    """`Íslenska` sorts with the I's, not after `Z`."""
    letters = unicodedata.normalize("NFD", name)
    return "".join(char for char in letters if not unicodedata.combining(char)).casefold()


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
