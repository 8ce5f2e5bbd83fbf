"""Installed like Python software: build the sdist and wheel, install the wheel into a fresh
virtualenv outside the checkout, and start that venv's `konnectd serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
BUILD_SECONDS = 300
INSTALL_SECONDS = 300
# Leftovers of earlier builds (a stale *.egg-info lists files too) must not reach the sdist.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "*.egg-info",
    "build",
    "dist",
    "data",
    "artifacts",
    "node_modules",
    "__pycache__",
    ".*_cache",
)


def run(command: list[str], cwd: Path, timeout: int) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=_outside_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _outside_env() -> dict[str, str]:
    """The environment without anything that would make the checkout importable."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("KONNECTD_")
    }


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with konnect installed from a wheel built from the sdist."""
    work = tmp_path_factory.mktemp("wheel")
    # `build` makes the sdist first and the wheel from it, so both must carry the package data.
    run(
        [sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(ROOT)],
        work,
        BUILD_SECONDS,
    )
    wheels = list((work / "dist").glob("konnect-*.whl"))
    assert len(wheels) == 1, wheels
    run([sys.executable, "-m", "venv", str(work / "venv")], work, 120)
    python = str(work / "venv" / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", str(wheels[0])], work, INSTALL_SECONDS)
    return work / "venv"


@pytest.fixture
def installed_konnectd(venv: Path, tmp_path: Path, password_hash: str) -> Iterator[str]:
    users = tmp_path / "users.yaml"
    users.write_text(
        f'users:\n  - username: jonas\n    id: "1001"\n    password_hash: "{password_hash}"\n'
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = ["serve", "--iss", url, "--listen", f"127.0.0.1:{port}", "users", str(users)]
    process = subprocess.Popen(
        [str(venv / "bin" / "konnectd"), *serve],
        cwd=tmp_path,
        env=_outside_env(),
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        assert b"Traceback" not in stderr, stderr.decode()


def test_the_wheel_installs_konnect_outside_the_checkout(venv: Path) -> None:
    where = run(
        [str(venv / "bin" / "python"), "-c", "import konnect; print(konnect.__file__)"],
        venv.parent,
        60,
    )
    assert Path(where.strip()).is_relative_to(venv)
    examples = venv / "share" / "konnect" / "etc"
    names = {path.name for path in examples.iterdir()}
    assert names == {path.name for path in (ROOT / "etc").iterdir()}


def test_installed_konnectd_serves_discovery_and_the_sign_in_page(installed_konnectd: str) -> None:
    url = installed_konnectd
    discovery = httpx.get(url + "/.well-known/openid-configuration", timeout=10)
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == url
    page = httpx.get(url + "/signin/v1/identifier", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assets = [part.split('"')[0] for part in page.text.split('"/signin/v1/static/')[1:]]
    assert any(name.endswith(".js") for name in assets), page.text
    assert any(name.endswith(".css") for name in assets), page.text
    for name in assets:
        assert httpx.get(f"{url}/signin/v1/static/{name}", timeout=10).status_code == 200, name


def test_the_container_image_copies_what_the_package_build_needs() -> None:
    """The Dockerfile builds the same package from a copy of these paths; none may be missing."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    assert {"pyproject.toml", "README.md", "konnect", "etc"} <= set(copied)
    assert all((ROOT / path).exists() for path in copied)
