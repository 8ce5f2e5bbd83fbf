"""With MFA off, nothing of konnect.mfa (nor segno, nor py_webauthn) is imported by the
running app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from konnect.config.model import Settings
    from konnect.http.app import create_app

    users = Path(sys.argv[1]) / "users.yaml"
    users.write_text("users: []\\n")
    settings = Settings(issuer="https://idp.example.com", users_file=users,
                        data_dir=Path(sys.argv[1]), mfa=sys.argv[2])
    if sys.argv[2] != "off":
        secret = Path(sys.argv[1]) / "secret"
        secret.write_bytes(b"s" * 32)
        from dataclasses import replace
        settings = replace(settings, encryption_secret=secret)
    create_app(settings)
    optional = ("konnect.mfa", "segno", "webauthn")
    print(sorted(name for name in sys.modules if name.startswith(optional)))
    """
)


def imported(tmp_path: Path, mode: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_mfa_modules_are_imported_only_when_mfa_is_on(tmp_path: Path) -> None:
    assert imported(tmp_path, "off") == "[]"
    on = imported(tmp_path, "required")
    assert "'konnect.mfa.factors'" in on
    assert "'webauthn'" in on
