"""The checks themselves: pinned checker versions, strict pytest settings, web app scripts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from scripts.pinned_tools import mismatches, pinned
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent


def test_the_checkers_are_pinned_and_installed_in_those_versions() -> None:
    assert {"ruff", "mypy"} <= set(pinned())
    assert mismatches() == []


def _pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_a_misspelt_marker_is_an_error(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "import pytest\n\n@pytest.mark.conformence\ndef test_x():\n    pass\n")
    assert run.returncode != 0
    assert "'conformence' not found in `markers`" in run.stdout


def test_an_expected_failure_that_passes_fails_the_run(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "import pytest\n\n@pytest.mark.xfail\ndef test_x():\n    pass\n")
    assert run.returncode == 1
    assert "XPASS(strict)" in run.stdout


def test_scripts_check_runs_node_over_the_web_app_scripts() -> None:
    require(shutil.which("node") is not None, "node is missing: run ./scripts/test")
    listed = subprocess.run(
        ["git", "ls-files", "*identifier_ui/static/*.js"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed, "no web app scripts found"
    check = (ROOT / "scripts" / "check").read_text()
    assert "git ls-files -z '*identifier_ui/static/*.js' | xargs -0 -r -n 1 node --check" in check
    for script in listed:
        assert subprocess.run(["node", "--check", script], cwd=ROOT).returncode == 0, script
