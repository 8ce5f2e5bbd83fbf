"""Reading client metadata into typed values: one reader for the YAML registry's entries and
for dynamic registration requests (RFC 7591 §2), each read by its own `MetadataRules`.

The reader reports every wrong value as an `EntryProblem` to the problem sink it is given:
the registry collects them all, to report at once with the key to blame; dynamic
registration raises at the first one (`invalid_client_metadata`). Which keys each source
knows, and the rules that go beyond a value's type, live with each source
(`konnect.clients.model` for the registry, `konnect.oidc.registration` for RFC 7591).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, overload


@dataclass(frozen=True)
class EntryProblem:
    """One thing wrong with client metadata, pointing at the key (and list item) to blame."""

    reason: str
    key: str | None = None
    index: int | None = None


def _unknown_alg_listed(key: str, value: str, allowed: Collection[str]) -> str:
    return f"{key} {value!r} is not a known JWS algorithm ({', '.join(sorted(allowed))})"


def _unknown_alg_unsupported(key: str, value: str, allowed: Collection[str]) -> str:
    return f"{key} {value} is not supported"


@dataclass(frozen=True)
class MetadataRules:
    """How one source of client metadata is read: its limits and how it words a problem."""

    #: The longest string value, and the most items of a list (None: no limit).
    max_text: int | None = None
    max_items: int | None = None
    #: Lists keep each value once (a request may repeat itself; a file says what it means).
    unique_items: bool = False
    #: A wrong list item is reported with its position; otherwise the list is.
    problem_per_item: bool = True
    #: The values a wrong flag is told to use; whether an explicit null reads as "no".
    flag_values: str = "yes/no or true/false"
    null_flag_is_false: bool = True
    #: An empty algorithm name reads as none registered.
    empty_alg_is_absent: bool = False
    unknown_alg: Callable[[str, str, Collection[str]], str] = _unknown_alg_listed


#: The YAML registry (`konnect.clients.registry`): an operator's file, reported all at once.
REGISTRY_RULES = MetadataRules()
#: Dynamic registration (`konnect.oidc.registration`): anyone's request, bounded.
REGISTRATION_RULES = MetadataRules(
    max_text=2048,
    max_items=32,
    unique_items=True,
    problem_per_item=False,
    flag_values="true or false",
    null_flag_is_false=False,
    empty_alg_is_absent=True,
    unknown_alg=_unknown_alg_unsupported,
)


class MetadataReader:
    """Typed values of one metadata mapping; each wrong value goes to `on_problem`."""

    def __init__(
        self,
        metadata: Mapping[Any, Any],
        rules: MetadataRules,
        on_problem: Callable[[EntryProblem], None] | None = None,
    ) -> None:
        self.metadata = metadata
        self.rules = rules
        self.problems: list[EntryProblem] = []
        self.bad_keys: set[str] = set()
        self._on_problem = on_problem

    def problem(self, key: str, reason: str, index: int | None = None) -> None:
        problem = EntryProblem(reason, key, index)
        self.problems.append(problem)
        self.bad_keys.add(key)
        if self._on_problem is not None:
            self._on_problem(problem)

    def _is_text(self, value: object) -> bool:
        limit = self.rules.max_text
        return isinstance(value, str) and (limit is None or len(value) <= limit)

    @overload
    def text(self, key: str) -> str | None: ...
    @overload
    def text(self, key: str, default: str) -> str: ...
    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.metadata.get(key)
        if value is None:
            return default
        if self._is_text(value):
            return str(value)
        self.problem(key, f"{key} must be a string")
        return default

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.metadata.get(key)
        if value is None:
            return default
        limit = self.rules.max_items
        if not isinstance(value, list) or (limit is not None and len(value) > limit):
            self.problem(key, f"{key} must be a list of strings")
            return ()
        wrong = [index for index, item in enumerate(value) if not self._is_text(item)]
        if wrong and not self.rules.problem_per_item:
            self.problem(key, f"{key} must be a list of strings")
            return ()
        for index in wrong:
            self.problem(key, f"{key} item {index + 1} must be a string", index)
        items = tuple(item for item in value if self._is_text(item))
        return tuple(dict.fromkeys(items)) if self.rules.unique_items else items

    def seconds(self, key: str) -> int | None:
        """A whole number of seconds (`default_max_age`); None when absent."""
        value = self.metadata.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**10:
            return value
        self.problem(key, f"{key} must be a whole number of seconds")
        return None

    def flag(self, key: str) -> bool:
        value = self.metadata.get(key)
        if isinstance(value, bool):
            return value
        if value is None and (key not in self.metadata or self.rules.null_flag_is_false):
            return False
        self.problem(key, f"{key} must be {self.rules.flag_values}")
        return False

    def choice(self, key: str, choices: Collection[str]) -> str:
        """One of `choices`, or "" when absent."""
        value = self.text(key, "")
        if value in ("", *choices):
            return value
        self.problem(key, f"{key} must be one of {', '.join(choices)}")
        return ""

    def alg(self, key: str, allowed: Collection[str]) -> str | None:
        """A JWS algorithm name, one of `allowed`."""
        value = self.text(key)
        if value == "" and self.rules.empty_alg_is_absent:
            return None
        if value is None or value in allowed:
            return value
        self.problem(key, self.rules.unknown_alg(key, value, allowed))
        return None

    def jwks(self) -> Mapping[str, Any] | None:
        """A JWK set's shape: a mapping with a `keys` list of objects that name their `kty`."""
        value = self.metadata.get("jwks")
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
            self.problem("jwks", "jwks must be a mapping with a `keys` list")
            return None
        for index, key in enumerate(value["keys"]):
            if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
                self.problem("jwks", f"jwks key {index + 1} must be a JWK object with `kty`")
        return value
