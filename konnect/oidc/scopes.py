"""Scopes: the built-in Konnect scopes, `scopes.yaml` definitions, and consent metadata."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from konnect.config.errors import ConfigError

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
RAW_SUB = "konnect/raw_sub"

_BASIC_SCOPES = ("openid", "email", "profile", "konnect/id", "konnect/uuid", "konnect/raw_sub")
_BUILTIN_DEFINITIONS: dict[str, dict[str, Any]] = {
    "basic": {"priority": 20, "id": "scope_alias_basic"},
    OFFLINE_ACCESS: {"priority": 10, "id": "scope_offline_access"},
    "groups": {"priority": 15, "id": "scope_groups"},
}


@dataclass(frozen=True)
class ScopeCatalog:
    """What scopes exist, which ones the provider will authorize, and how consent shows them."""

    mapping: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    supported: tuple[str, ...] = ()

    def filter_supported(self, requested: Iterable[str]) -> list[str]:
        """Requested scopes the provider knows, in request order; unknown ones drop silently."""
        known = set(self.supported)
        result: list[str] = []
        for scope in requested:
            if (scope == OPENID or scope in known) and scope not in result:
                result.append(scope)
        return result

    def meta(self, scopes: Iterable[str]) -> dict[str, Any]:
        """The `meta.scopes` object of hello responses, restricted to the given scopes."""
        mapping: dict[str, str] = {}
        definitions: dict[str, dict[str, Any]] = {}
        for scope in scopes:
            alias = self.mapping.get(scope, scope)
            if alias != scope:
                mapping[scope] = alias
            definition = self.definitions.get(alias)
            if definition is not None:
                definitions[alias] = definition
        return {"mapping": mapping, "definitions": definitions}


def build_catalog(
    path: Path | None,
    backend_scopes: Iterable[str],
    allowed_scopes: Iterable[str] = (),
) -> ScopeCatalog:
    """Built-ins + scopes file + backend scopes; `--allow-scope` replaces the list."""
    file_mapping, file_definitions = _load_scopes_file(path) if path else ({}, {})
    mapping = dict.fromkeys(_BASIC_SCOPES, "basic")
    mapping.update(file_mapping)
    definitions = dict(_BUILTIN_DEFINITIONS)
    definitions.update(file_definitions)
    allowed = tuple(allowed_scopes)
    if allowed:
        supported = allowed
    else:
        candidates = [OFFLINE_ACCESS, *file_definitions, *backend_scopes]
        supported = tuple(dict.fromkeys(scope for scope in candidates if scope != "basic"))
    return ScopeCatalog(mapping=mapping, definitions=definitions, supported=supported)


def _load_scopes_file(path: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read scopes file ({exc})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{path}{line}: invalid YAML"]) from None
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: expected a mapping with 'scopes' and 'mapping'"])
    problems: list[str] = []
    mapping = document.get("mapping") or {}
    scopes = document.get("scopes") or {}
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        problems.append(f"{path}: 'mapping' must map scope names to alias names")
        mapping = {}
    definitions: dict[str, dict[str, Any]] = {}
    if not isinstance(scopes, dict):
        problems.append(f"{path}: 'scopes' must be a mapping of scope definitions")
        scopes = {}
    for name, raw in scopes.items():
        definition, definition_problems = _definition(path, str(name), raw)
        problems.extend(definition_problems)
        definitions[str(name)] = definition
    if problems:
        raise ConfigError(problems)
    return dict(mapping), definitions


def _definition(path: Path, name: str, raw: Any) -> tuple[dict[str, Any], list[str]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return {}, [f"{path}: scope '{name}' must be a mapping"]
    problems = [
        f"{path}: scope '{name}': unknown key '{key}'"
        for key in raw
        if key not in ("description", "priority", "id")
    ]
    priority = raw.get("priority", 0)
    if not isinstance(priority, int):
        problems.append(f"{path}: scope '{name}': priority must be an integer")
        priority = 0
    definition: dict[str, Any] = {"priority": priority}
    for key in ("description", "id"):
        if raw.get(key):
            definition[key] = str(raw[key])
    return definition, problems
