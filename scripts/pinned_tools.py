"""Fails when an installed checker differs from the version pinned in pyproject.toml.

The checks are only reproducible with the pinned versions: a newer ruff or mypy may find
new problems in unchanged code.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def pinned() -> dict[str, str]:
    """Name -> version of every `name==version` requirement of the test extra."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"]["test"]
    pins = (line.split("==", 1) for line in requirements if "==" in line)
    return {name.strip(): wanted.strip() for name, wanted in pins}


def mismatches() -> list[str]:
    found = []
    for name, wanted in pinned().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "none"
        if installed != wanted:
            found.append(f"{name} {installed} is installed, pyproject.toml pins {wanted}")
    return found


def main() -> int:
    problems = mismatches()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run scripts/test once to install the pinned versions", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
