"""Shared fixtures: a real konnect server on a loopback port, keys, users and clients."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey

from konnect.config.model import Settings
from konnect.crypto import hash_password
from konnect.http.app import Overrides, create_app

PASSWORD = "correct horse battery staple"
LOOPBACK = ("127.0.0.0/8", "::1")


def require(available: bool, message: str) -> None:
    """Skip a test whose tool is missing on a developer machine; under CI (CI=true), where
    scripts/test installs every tool, fail instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Clock:
    """A settable clock for tests that move time forward."""

    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RunningServer:
    """A uvicorn server in a thread, serving one app on a loopback port."""

    def __init__(
        self,
        app: object,
        port: int,
        host: str = "127.0.0.1",
        config: uvicorn.Config | None = None,
    ) -> None:
        """Listens on loopback; `host` is the name clients use (`localhost` for WebAuthn,
        which browsers refuse on an IP address); `config`: how to serve it (default: plain
        uvicorn)."""
        if config is None:
            config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "rsa-key.pem").write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (folder / "ec-key.pem").write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "secret.key").write_bytes(bytes(range(32)))
    return folder


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture(scope="session")
def client_key() -> ECKey:
    """The private key of the test registry's `signing-app` (request objects)."""
    return ECKey.generate_key("P-256", parameters={"kid": "signing-app-1"}, private=True)


@pytest.fixture
def config_dir(tmp_path: Path, password_hash: str, client_key: ECKey) -> Path:
    public_jwk = json.dumps({**client_key.as_dict(private=False), "use": "sig"})
    (tmp_path / "users.yaml").write_text(
        f"""
users:
  - username: jonas
    password_hash: "{password_hash}"
    id: "1001"
    name: Jonas Brekke
    given_name: Jonas
    family_name: Brekke
    email: jonas@example.com
    email_verified: true
    groups: [staff]
  - username: timmothy
    password_hash: "{password_hash}"
    id: "1002"
    name: Timmothy Schöwalter
    disabled: true
"""
    )
    (tmp_path / "registry.yaml").write_text(
        """
clients:
  - id: trusted-app
    name: Trusted App
    trusted: yes
    secret: trusted-secret
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
  - id: public-app
    name: Public App
    application_type: native
    redirect_uris: [http://localhost/cb]
  - id: untrusted-app
    name: Untrusted App
    secret: untrusted-secret
    redirect_uris: [https://rp.example.com/cb]
  - id: legacy-app
    name: Legacy App
    secret: legacy-secret
    trusted: yes
    application_type: native
    reusable_refresh_tokens: yes
    redirect_uris: [http://127.0.0.1:9999/cb]
  - id: signing-app
    name: Signing App
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    request_object_signing_alg: ES256
    jwks: {"keys": [PUBLIC_JWK]}
  - id: service-app
    name: Service
    secret: service-secret
    grant_types: [client_credentials]
    redirect_uris: [https://service.example.com/cb]
""".replace("PUBLIC_JWK", public_jwk)
    )
    return tmp_path


@pytest.fixture
def settings_factory(key_dir: Path, config_dir: Path) -> Callable[..., Settings]:
    def make(port: int, **changes: object) -> Settings:
        settings = Settings(
            issuer=f"http://127.0.0.1:{port}",
            listen=f"127.0.0.1:{port}",
            signing_private_keys=(key_dir / "rsa-key.pem",),
            encryption_secret=key_dir / "secret.key",
            identifier_registration_conf=config_dir / "registry.yaml",
            identity_manager="users",
            users_file=config_dir / "users.yaml",
            # Relying parties of the tests live on loopback, which dynamic clients may reach
            # only through the allow-list.
            outgoing_allowed_networks=LOOPBACK,
            data_dir=config_dir / "data",
        )
        return replace(settings, **changes)  # type: ignore[arg-type]

    return make


@pytest.fixture
def server_factory(
    settings_factory: Callable[..., Settings],
) -> Iterator[Callable[..., RunningServer]]:
    running: list[RunningServer] = []

    def start(
        overrides: Overrides | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        **changes: object,
    ) -> RunningServer:
        """A server on loopback; with `host="localhost"` its issuer is http://localhost:PORT."""
        port = port or free_port()
        if host != "127.0.0.1":
            changes = {"issuer": f"http://{host}:{port}", **changes}
        app = create_app(settings_factory(port, **changes), overrides)
        server = RunningServer(app, port, host)
        server.start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory()


def browser(base_url: str) -> httpx.Client:
    """An httpx client that behaves like the sign-in web app's browser (no redirects)."""
    return httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)


def api_headers(base_url: str) -> dict[str, str]:
    return {"Kopano-Konnect-XSRF": "1", "Origin": base_url, "Content-Type": "application/json"}


def sign_in(client: httpx.Client, base_url: str, username: str = "jonas") -> httpx.Response:
    """Sign in through the identifier API as the web app does."""
    return client.post(
        "/signin/v1/identifier/_/logon",
        json={"state": "s1", "params": [username, PASSWORD, "1"], "hello": None},
        headers=api_headers(base_url),
    )


class RedisServer:
    """A private redis-server on a loopback port with no persistence."""

    def __init__(self, port: int, *options: str) -> None:
        self.port = port
        self.options = options
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: run ./scripts/test, which installs it"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


class PostgresServer:
    """A throw-away PostgreSQL cluster on a loopback port (Debian's `postgresql`). PostgreSQL
    refuses to run as root, so under root the cluster belongs to the `postgres` system user
    (or `nobody`)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"postgresql://konnect@127.0.0.1:{port}/postgres"
        self.root = Path(tempfile.mkdtemp(prefix="konnect-pg-"))
        self.user = self._owner()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binaries() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_version_of)
        return found[-1].parent if found else None

    @staticmethod
    def _owner() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name).pw_name
            except KeyError:
                continue
        raise RuntimeError("PostgreSQL does not run as root and there is no other user")

    def _run(self, *command: str | Path) -> subprocess.Popen[bytes]:
        log = (self.root / "server.log").open("ab")
        with log:
            return subprocess.Popen(command, stdout=log, stderr=log, user=self.user)

    def initdb(self) -> None:
        binaries = self.binaries()
        assert binaries, "postgresql is missing: run ./scripts/test, which installs it"
        if self.user is not None:
            shutil.chown(self.root, self.user)
        options = ["-U", "konnect", "-A", "trust", "-E", "UTF8", "--no-sync"]
        setup = self._run(binaries / "initdb", "-D", self.root / "data", *options)
        if setup.wait(timeout=60) != 0:
            raise RuntimeError("initdb failed: " + (self.root / "server.log").read_text())

    def start(self) -> None:
        binaries = self.binaries()
        assert binaries, "postgresql is missing: run ./scripts/test, which installs it"
        # Throw-away data: no need to survive a crash of the machine.
        options = f"-h 127.0.0.1 -p {self.port} -c fsync=off -c synchronous_commit=off".split()
        self.process = self._run(
            binaries / "postgres", "-D", self.root / "data", "-k", self.root, *options
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("postgres exited: " + (self.root / "server.log").read_text())
            if self.accepts_connections():
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not start")

    def accepts_connections(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def new_database(self) -> str:
        """A fresh empty database on this server: its URL."""
        import psycopg

        name = f"test_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}".encode())
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected at once."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _version_of(binary: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in binary.parts[-3].split(".") if part.isdigit())


def start_postgres() -> PostgresServer:
    """A new cluster, started; fails under CI=true when Debian's postgresql is missing."""
    require(PostgresServer.binaries() is not None, "postgresql is not installed")
    server = PostgresServer(free_port())
    try:
        server.initdb()
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """An empty database of the shared test cluster."""
    return postgres_server.new_database()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A cluster of the test's own, which it may stop and start without disturbing others."""
    server = start_postgres()
    yield server
    server.remove()


def audit_lines(path: Path) -> list[str]:
    """The lines of a running server's audit file once it stopped growing: the server writes
    the events of one turn of its event loop together, just after that turn's answers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.05)
        again = path.read_text(encoding="utf-8").splitlines()
        if again == lines:
            break
        lines = again
    return lines


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"konnectd exited with {process.returncode}")
        try:
            if httpx.get(url + "/health-check", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("konnectd did not become healthy")


@pytest.fixture
def konnectd(key_dir: Path, config_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """`konnectd serve` as a real process with the test keys, users and registry."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = config_dir / "konnectd.cfg"
    cfg.write_text(
        "\n".join(
            [
                "# written by the smoke test",
                f"oidc_issuer_identifier = {url}",
                f"listen = 127.0.0.1:{port}",
                f"signing_private_key = {key_dir / 'rsa-key.pem'}",
                f"encryption_secret_key = {key_dir / 'secret.key'}",
                f"identifier_registration_conf = {config_dir / 'registry.yaml'}",
                "identity_manager = users",
                f"users_file = {config_dir / 'users.yaml'}",
                f"data_dir = {config_dir / 'data'}",
                "log_level = warn",
                f"outgoing_allowed_networks = {' '.join(LOOPBACK)}",
                "",
            ]
        )
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONNECTD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "konnect", "serve", "--config", str(cfg)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(url, process)
        yield url, []
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        assert b"Traceback" not in stderr, stderr.decode()
