"""A private OpenLDAP server for tests: temp folder, loopback ports, throw-away database."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.pki import Pki

HERE = Path(__file__).resolve().parent
SLAPD = Path("/usr/sbin/slapd")
BASE_DN = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=konnect,{BASE_DN}"
SERVICE_PASSWORD = "service-secret"
PASSWORD = "correct horse battery staple"
SCHEMA_DIR = Path("/etc/ldap/schema")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def require_slapd() -> None:
    """Tests need slapd; under CI they fail rather than skip (scripts/test installs it)."""
    from tests.conftest import require

    require(
        SLAPD.exists() and shutil.which("ldapadd") is not None,
        "slapd/ldap-utils missing: run ./scripts/test, which installs them",
    )


class Slapd:
    """One slapd process; stop() and start() keep its data, so outages can be simulated."""

    def __init__(self, folder: Path, pki: Pki) -> None:
        self.folder = folder
        self.pki = pki
        self.port = free_port()
        self.tls_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://localhost:{self.tls_port}"
        (folder / "db").mkdir(parents=True, exist_ok=True)
        (folder / "slapd.conf").write_text(self._config(), encoding="utf-8")

    def _config(self) -> str:
        schemas = ["core", "cosine", "inetorgperson", "nis"]
        includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in schemas)
        return f"""
{includes}
include {HERE / "ad-like.schema"}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {self.folder / "slapd.pid"}
TLSCACertificateFile {self.pki.ca_file}
TLSCertificateFile {self.pki.cert_file}
TLSCertificateKeyFile {self.pki.key_file}
database mdb
maxsize 67108864
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {self.folder / "db"}
index objectClass eq
index uid,mail,cn,sAMAccountName,userPrincipalName,memberUid eq
index member eq
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [
                str(SLAPD),
                "-f",
                str(self.folder / "slapd.conf"),
                "-h",
                f"ldap://127.0.0.1:{self.port}/ ldaps://localhost:{self.tls_port}/",
                "-d",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_for(self.port)

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("slapd exited at startup; check slapd.conf")
            time.sleep(0.02)
        raise RuntimeError("slapd did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def freeze(self) -> None:
        """Stop answering without closing connections: a stuck server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw_if_frozen(self) -> None:
        if self.process is not None and self.frozen:
            self.process.send_signal(signal.SIGCONT)
        self.frozen = False

    def ldapmodify(self, ldif: str, *, add: bool = False) -> None:
        command = ["ldapadd" if add else "ldapmodify", "-x", "-H", self.url]
        command += ["-D", ADMIN_DN, "-w", ADMIN_PASSWORD]
        subprocess.run(command, input=ldif.encode(), check=True, capture_output=True)

    def load_fixture(self) -> None:
        text = (HERE / "fixture.ldif").read_text(encoding="utf-8")
        self.ldapmodify(text.replace("{PASSWORD}", ssha(PASSWORD)), add=True)
