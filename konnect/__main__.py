"""`python -m konnect`: the konnectd command."""

from __future__ import annotations

from konnect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
