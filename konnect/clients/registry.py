"""The client registry: lookups for authorize, token and end session, and the YAML file.

No client may send browsers back into konnect itself (a redirect URI at one of konnect's own
paths on the issuer's host): chained redirects there could carry one response into another.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from konnect.clients.dynamic import PREFIX as DYNAMIC_CLIENT_PREFIX
from konnect.clients.dynamic import DynamicClients
from konnect.clients.model import (
    ClientLookupError,
    ClientRegistration,
    client_from_entry,
)
from konnect.clients.redirects import (
    is_loopback_http,
    is_own_path,
    origin_allowed,
    parse_uri,
    redirect_uri_matches,
    registration_problems,
    same_authority,
    with_default_origin,
)
from konnect.config.errors import ConfigError


class ClientRegistry:
    """Registered clients, dynamic ones, and (only when enabled) Konnect's unregistered
    clients whose redirect URI is on the issuer's host."""

    def __init__(
        self,
        clients: Iterable[ClientRegistration],
        issuer: str,
        dynamic: DynamicClients | None = None,
        warnings: Iterable[str] = (),
        *,
        base_path: str = "",
        issuer_host_clients: bool = False,
        authority_entries: Iterable[tuple[str, dict[str, object]]] = (),
    ) -> None:
        #: Dynamic client registration, when enabled.
        self.dynamic = dynamic
        #: What the registry file holds that konnect does not use, for the startup log.
        self.warnings = tuple(warnings)
        #: The `authorities:` entries as read ("file:line", mapping); `authorities` checks them.
        self.authority_entries = tuple(authority_entries)
        self._clients: dict[str, ClientRegistration] = {}
        for client in clients:
            if client.id in self._clients:
                raise ValueError(f"client {client.id!r} is registered twice")
            self._clients[client.id] = with_default_origin(client)
        self._issuer = parse_uri(issuer)
        self._base_path = base_path
        self._issuer_host_clients = issuer_host_clients

    def __iter__(self) -> Iterator[ClientRegistration]:
        return iter(self._clients.values())

    def __len__(self) -> int:
        return len(self._clients)

    def get(self, client_id: str) -> ClientRegistration | None:
        client = self._clients.get(client_id)
        if client is None and self.dynamic is not None:
            return self.dynamic.get(client_id)
        return client

    def lookup(
        self, client_id: str, redirect_uri: str | None, origin: str | None = None
    ) -> ClientRegistration:
        """The client allowed to use `redirect_uri` (None: not checked) from `origin`.

        Raises ClientLookupError with a message that is safe to show.
        """
        if not client_id:
            raise ClientLookupError("client_id is missing")
        if redirect_uri is not None and "#" in redirect_uri:
            raise ClientLookupError("redirect_uri must not contain a fragment")
        if redirect_uri is not None and self.points_at_konnect(redirect_uri):
            raise ClientLookupError("redirect_uri must not lead back into this provider")
        client = self.get(client_id)
        if client is None:
            return self._implicit_client(client_id, redirect_uri, origin)
        if origin and not origin_allowed(client, origin):
            raise ClientLookupError("origin not allowed")
        if redirect_uri is not None and not redirect_uri_matches(client, redirect_uri):
            raise ClientLookupError("redirect_uri not registered for this client")
        return client

    def _implicit_client(
        self, client_id: str, redirect_uri: str | None, origin: str | None
    ) -> ClientRegistration:
        """Konnect's unregistered issuer-host client: only when enabled, and never trusted,
        so the user always consents and sign-out always asks."""
        accepted = (
            self._issuer_host_clients
            and not client_id.startswith(DYNAMIC_CLIENT_PREFIX)
            and redirect_uri is not None
            and self._on_issuer_host(redirect_uri)
            and (not origin or self._on_issuer_host(origin))
        )
        if not accepted:
            raise ClientLookupError("unknown client_id")
        return ClientRegistration(id=client_id, implicit=True)

    def _on_issuer_host(self, uri: str) -> bool:
        parts = parse_uri(uri)
        return (
            self._issuer is not None and parts is not None and same_authority(self._issuer, parts)
        )

    def points_at_konnect(self, uri: str) -> bool:
        """Whether `uri` is one of konnect's own pages on the issuer's host (for a loopback
        issuer: on any loopback name, as native clients' loopback URIs match them all)."""
        parts = parse_uri(uri)
        if parts is None or not is_own_path(parts.path, self._base_path):
            return False
        if self._on_issuer_host(uri):
            return True
        issuer = self._issuer
        return (
            issuer is not None
            and is_loopback_http(issuer)
            and is_loopback_http(parts)
            and (parts.port or 80) == (issuer.port or 80)
        )

    def verify_secret(self, client: ClientRegistration, secret: str | None) -> bool:
        """Confidential clients: constant-time compare. Public clients: any or no secret."""
        if client.secret is None:
            return True
        if secret is None:
            return False
        return hmac.compare_digest(secret.encode(), client.secret.encode())

    def post_logout_redirect_allowed(self, client: ClientRegistration, uri: str) -> bool:
        """Listed in post_logout_redirect_uris, or a redirect URI by the lookup rules.

        Konnect only consults redirect_uris, so those keep working.
        """
        if "#" in uri or parse_uri(uri) is None or self.points_at_konnect(uri):
            return False
        if uri in client.post_logout_redirect_uris:
            return True
        if client.implicit:
            return self._on_issuer_host(uri)
        return redirect_uri_matches(client, uri)


def load_registry(
    path: Path | None,
    issuer: str,
    dynamic: DynamicClients | None = None,
    *,
    base_path: str = "",
    issuer_host_clients: bool = False,
) -> ClientRegistry:
    """Read `clients:` from the registry file; every problem is reported in one ConfigError."""
    registry_file = _RegistryFile(path) if path is not None else None
    registry = ClientRegistry(
        registry_file.clients() if registry_file else [],
        issuer,
        dynamic,
        registry_file.warnings if registry_file else (),
        base_path=base_path,
        issuer_host_clients=issuer_host_clients,
        authority_entries=registry_file.authorities if registry_file else (),
    )
    problems = [
        f"{path}: client {client.id!r}: {uri!r} must not lead back into this provider"
        for client in registry
        for uri in (*client.redirect_uris, *client.post_logout_redirect_uris)
        if registry.points_at_konnect(uri)
    ]
    if problems:
        raise ConfigError(problems)
    return registry


@dataclass(frozen=True)
class _Entry:
    """One client entry with the lines of its keys and list items."""

    number: int
    line: int
    key_lines: Mapping[str, int]
    item_lines: Mapping[str, tuple[int, ...]]
    duplicate_keys: tuple[tuple[str, int], ...]  # (key, line of the repeat)

    def line_of(self, key: str | None, index: int | None) -> int:
        items = self.item_lines.get(key or "", ())
        if index is not None and index < len(items):
            return items[index]
        return self.key_lines.get(key or "", self.line)


class _RegistryFile:
    """Reads the YAML registry, keeping node positions so problems can name their line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []  # (line, problem), reported in line order
        self.warnings: list[str] = []
        self.authorities: list[tuple[str, dict[str, object]]] = []

    def clients(self) -> list[ClientRegistration]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ConfigError([f"{self.path}: cannot read the client registry: {exc}"]) from None
        loader = yaml.SafeLoader(text)
        try:
            clients = self._read(loader)
        except yaml.MarkedYAMLError as exc:
            raise ConfigError([self._yaml_problem(exc)]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([f"{self.path}: {exc}"]) from None
        finally:
            loader.dispose()
        if self.problems:
            raise ConfigError(
                [f"{self.path}:{line}: {text}" for line, text in sorted(self.problems)]
            )
        return clients

    def _yaml_problem(self, exc: yaml.MarkedYAMLError) -> str:
        mark = exc.problem_mark or exc.context_mark
        where = f"{self.path}:{mark.line + 1}" if mark else str(self.path)
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        return f"{where}: invalid YAML: {what or 'cannot parse'}"

    def _problem(self, node: Node, message: str) -> None:
        self.problems.append((node.start_mark.line + 1, message))

    def _read(self, loader: yaml.SafeLoader) -> list[ClientRegistration]:
        root = loader.get_single_node()
        if root is None or _is_null(root):
            return []
        if not isinstance(root, MappingNode):
            self._problem(root, "the registry must be a mapping with a `clients:` list")
            return []
        clients_node = self._top_level(loader, root)
        if clients_node is None or _is_null(clients_node):
            return []
        if not isinstance(clients_node, SequenceNode):
            self._problem(clients_node, "`clients:` must be a list of client entries")
            return []
        return self._clients(loader, clients_node)

    def _top_level(self, loader: yaml.SafeLoader, root: MappingNode) -> Node | None:
        """The `clients:` value; `authorities:` entries are kept for `konnect.authorities`."""
        clients_node = None
        seen: set[object] = set()
        for key_node, value_node in root.value:
            key = loader.construct_object(key_node) if isinstance(key_node, ScalarNode) else None
            if key in seen:
                self._problem(key_node, f"duplicate top-level key {key!r}")
            seen.add(key)
            if key == "clients":
                clients_node = value_node
            elif key == "authorities":
                self._read_authorities(loader, value_node)
            else:
                self._problem(key_node, f"unknown top-level key {key!r} (expected clients)")
        return clients_node

    def _read_authorities(self, loader: yaml.SafeLoader, node: Node) -> None:
        """Keeps the authorities' entries with their place, for `konnect.authorities`."""
        entries = node.value if isinstance(node, SequenceNode) else [node]
        for number, entry in enumerate(entries, start=1):
            if _is_null(entry):
                continue
            where = f"{self.path}:{entry.start_mark.line + 1}"
            value = loader.construct_object(entry, deep=True)
            if not isinstance(value, dict):
                self._problem(entry, f"authority #{number}: entry must be a mapping")
            else:
                self.authorities.append((where, value))

    def _clients(self, loader: yaml.SafeLoader, sequence: SequenceNode) -> list[ClientRegistration]:
        clients: list[ClientRegistration] = []
        first_lines: dict[str, int] = {}
        for number, node in enumerate(sequence.value, start=1):
            if not isinstance(node, MappingNode):
                self._problem(node, f"client #{number}: entry must be a mapping")
                continue
            entry = _positions(loader, node, number)
            client = self._client(loader.construct_object(node, deep=True), entry)
            if client is None:
                continue
            if client.id in first_lines:
                reason = f"duplicate id (first defined on line {first_lines[client.id]})"
                self.problems.append((entry.line_of("id", None), f"client {client.id!r}: {reason}"))
                continue
            first_lines[client.id] = entry.line
            clients.append(client)
        # Any problem stops startup, so clients with problems never reach a registry.
        return clients

    def _client(self, value: object, entry: _Entry) -> ClientRegistration | None:
        """The entry's client (None without an id), recording every problem it has."""
        if not isinstance(value, dict):
            self.problems.append((entry.line, f"client #{entry.number}: entry must be a mapping"))
            return None
        client, problems = client_from_entry(value)
        if client is not None:
            problems += registration_problems(client)
        label = f"client {client.id!r}" if client else f"client #{entry.number}"
        for problem in problems:
            line = entry.line_of(problem.key, problem.index)
            self.problems.append((line, f"{label}: {problem.reason}"))
        for key, line in entry.duplicate_keys:
            self.problems.append((line, f"{label}: duplicate key {key!r}"))
        return client


def _positions(loader: yaml.SafeLoader, node: MappingNode, number: int) -> _Entry:
    """Lines of the entry's own keys and list items (merged-in keys fall back to the entry)."""
    key_lines: dict[str, int] = {}
    item_lines: dict[str, tuple[int, ...]] = {}
    duplicates: list[tuple[str, int]] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        key = str(loader.construct_object(key_node))
        line = key_node.start_mark.line + 1
        if key in key_lines:
            duplicates.append((key, line))
            continue
        key_lines[key] = line
        if isinstance(value_node, SequenceNode):
            item_lines[key] = tuple(item.start_mark.line + 1 for item in value_node.value)
    return _Entry(number, node.start_mark.line + 1, key_lines, item_lines, tuple(duplicates))


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"
