"""The packages import in one direction only (DESIGN.md), and only endpoints import Starlette."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "konnect"
LAYER = {
    "config": 0,
    "crypto": 1,
    "outgoing": 1,
    "keys": 1,
    "clients": 2,
    "identity": 2,
    "state": 2,
    "mfa": 2.5,
    "oidc": 3,
    "identifier": 4,
    "jitsi": 5,
    "authorities": 5,
    "http": 6,
    "observe": 1,
}
STARLETTE_ALLOWED = {
    "oidc/endpoints.py",
    "oidc/responses.py",
    "identifier/api.py",
    "identifier/webapp.py",
    "identifier/mfa_api.py",
    "identifier/passkey_api.py",
    "identifier/security_api.py",
    "jitsi/endpoints.py",
    "jitsi/invite_endpoints.py",
    "jitsi/routes.py",
    "authorities/__init__.py",
    "authorities/routes.py",
    "authorities/saml_routes.py",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_point_one_way() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) < 2 or relative.parts[0] not in LAYER:
            continue
        own = relative.parts[0]
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] != "konnect" or len(parts) < 2 or parts[1] == "cli":
                if parts[:2] == ["konnect", "cli"]:
                    problems.append(f"{relative} imports the cli")
                continue
            other = parts[1]
            if other in LAYER and other != own and LAYER[other] >= LAYER[own]:
                problems.append(f"{relative} imports konnect.{other}")
    assert problems == []


def test_only_endpoint_modules_import_starlette() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("http/") or relative in STARLETTE_ALLOWED:
            continue
        if any(name.split(".")[0] == "starlette" for name in imports_of(path)):
            offenders.append(relative)
    assert offenders == []


def test_only_the_keys_package_imports_joserfc() -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if not path.relative_to(PACKAGE).as_posix().startswith("keys/")
        and any(name.split(".")[0] == "joserfc" for name in imports_of(path))
    ]
    assert offenders == []
