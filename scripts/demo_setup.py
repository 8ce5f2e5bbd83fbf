"""Creates the demo configuration for the quickstart (once) and prints how to sign in."""

from __future__ import annotations

import hashlib
import secrets
import sys
from base64 import urlsafe_b64encode
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from konnect.crypto import hash_password

PORT = 8777
#: The issuer's host names: 127.0.0.1, or localhost with multi-factor sign-in, because
#: browsers offer passkeys only on https or localhost.
HOSTS = ("127.0.0.1", "localhost")
CLIENT_ID = "demo-app"


def issuer_of(host: str) -> str:
    return f"http://{host}:{PORT}"


def redirect_uri(issuer: str) -> str:
    return issuer + "/demo/callback"  # not a konnect page: none may be a redirect URI


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def make_signing_key(data: Path) -> None:
    link = data / "keys" / "signing-key.pem"
    if link.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    target = data / "keys" / f"konnect-{date.today():%Y%m%d}-{secrets.token_hex(2)}.pem"
    write_private(target, pem)
    link.symlink_to(target.name)


def make_demo_files(data: Path) -> None:
    secret = data / "encryption-secret.key"
    if not secret.exists():
        write_private(secret, secrets.token_bytes(32))
    password_file = data / "demo-password"
    if not password_file.exists():
        write_private(password_file, secrets.token_urlsafe(12).encode())
    password = password_file.read_text().strip()
    users = data / "users.yaml"
    if not users.exists():
        users.write_text(
            "# Demo users for konnect's users-file backend (see etc/users.yaml).\n"
            "users:\n"
            "  - username: demo\n"
            f'    password_hash: "{hash_password(password)}"\n'
            '    id: "demo-0001"\n'
            "    name: Demo User\n"
            "    given_name: Demo\n"
            "    family_name: User\n"
            "    email: demo@example.com\n"
            "    email_verified: true\n"
        )
    registry = data / "identifier-registration.yaml"
    if registry.exists() and "/signin/v1/welcome" in registry.read_text():
        registry.unlink()  # an older demo client that redirected into konnect itself
    if registry.exists() and "localhost" not in registry.read_text():
        registry.unlink()  # an older demo client without the localhost redirect URI
    if not registry.exists():
        uris = ", ".join(redirect_uri(issuer_of(host)) for host in HOSTS)
        registry.write_text(
            "# The demo client (see etc/identifier-registration.yaml for every option).\n"
            "clients:\n"
            f"  - id: {CLIENT_ID}\n"
            "    name: Demo App\n"
            "    trusted: yes\n"
            "    application_type: native\n"
            f"    redirect_uris: [{uris}]\n"
        )


def authorize_url(issuer: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri(issuer),
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    return issuer + "/signin/v1/identifier/_/authorize?" + urlencode(query), verifier


def main() -> None:
    data = Path(sys.argv[1]).resolve()
    host = sys.argv[2] if len(sys.argv) > 2 else HOSTS[0]
    issuer = issuer_of(host)
    make_signing_key(data)
    make_demo_files(data)
    url, verifier = authorize_url(issuer)
    password = (data / "demo-password").read_text().strip()
    passkeys = (
        "\nMulti-factor sign-in is on: after the password, create a passkey (or set up an\n"
        "authenticator app); next time, sign in with the passkey alone.\n"
        if host == "localhost"
        else ""
    )
    print(
        f"""
konnect is starting on {issuer}

  Issuer (discovery):  {issuer}/.well-known/openid-configuration
  Sign in as:          demo / {password}
  Try a sign-in:       {url}
{passkeys}
After signing in, the address bar holds ?code=... (on a "not found" page).
Redeem that code (within 2 minutes) with:
  curl -s {issuer}/konnect/v1/token -d grant_type=authorization_code \\
    -d client_id={CLIENT_ID} -d redirect_uri={redirect_uri(issuer)} \\
    -d code_verifier={verifier} -d code=<CODE>

Configuration lives in {data}. Stop with Ctrl-C.
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
