"""A meeting server's part in a guest sign-in, for trying guests on a konnect server.

`keygen KEYFILE` writes a P-256 private JWK and prints the client's registry entry (public key
only). `url --key KEYFILE` signs a guest request object, as kwmserver does, with the hardening
claims (iss, aud, iat, exp, jti), and prints the authorize URL to open in a browser.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
import time
from base64 import urlsafe_b64encode
from pathlib import Path
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import ECKey

ISSUER = "http://127.0.0.1:8777"
CLIENT_ID = "demo-meet"
REDIRECT_URI = ISSUER + "/demo/callback"  # not a konnect page: none may be a redirect URI
SCOPE = "openid profile email kopano/kwm konnect/guestok"


def keygen(path: Path, client_id: str, redirect_uri: str) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "meet-guests"}, private=True)
    path.write_text(json.dumps(key.as_dict(private=True)) + "\n")
    path.chmod(0o600)
    public = {**key.as_dict(private=False), "use": "sig"}
    print(f"""# Add to the clients: of the identifier registration file and start konnect with
# --allow-client-guests (allow_client_guests = yes).
  - id: {client_id}
    name: Meeting (guests)
    application_type: native
    trusted: yes
    redirect_uris: [{redirect_uri}]
    trusted_scopes: [konnect/guestok, kopano/kwm]
    request_object_signing_alg: ES256
    jwks: {{"keys": [{json.dumps(public)}]}}""")


def guest_object(options: argparse.Namespace, response_type: str) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": options.client_id,
        "aud": options.issuer,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
        "client_id": options.client_id,
        "response_type": response_type,
        "scope": SCOPE,
        "claims": {
            "id_token": {
                "guest": {"essential": True, "value": secrets.token_urlsafe(24) + "@1.kwmguest"},
                "name": {"value": f"(Guest) {options.name}"},
            },
            "passthru": {"kopano/kwm/guest": {"type": "1", "path": options.room}},
        },
    }


def authorize_url(options: argparse.Namespace) -> str:
    key = ECKey.import_key(json.loads(options.key.read_text()))
    response_type = "code" if options.code else "id_token token"
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, guest_object(options, response_type), key)
    query = {
        "client_id": options.client_id,
        "redirect_uri": options.redirect_uri,
        "response_type": response_type,
        "scope": SCOPE,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "prompt": "none",
        "request": token,
    }
    if options.code:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        query["code_challenge"] = urlsafe_b64encode(digest).rstrip(b"=").decode()
        query["code_challenge_method"] = "S256"
        print(f"code_verifier: {verifier}", file=sys.stderr)
    return options.issuer + "/signin/v1/identifier/_/authorize?" + urlencode(query)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="guest-request", description=__doc__)
    parser.add_argument("--issuer", default=ISSUER)
    parser.add_argument("--client-id", default=CLIENT_ID)
    parser.add_argument("--redirect-uri", default=REDIRECT_URI)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="write a private JWK, print the registry entry")
    make.add_argument("keyfile", type=Path)
    url = commands.add_parser("url", help="print an authorize URL signing in a guest")
    url.add_argument("--key", type=Path, required=True, help="the private JWK from keygen")
    url.add_argument("--name", default="Alice", help="the guest's display name")
    url.add_argument("--room", default="group/public/demo", help="the room path (passthru)")
    url.add_argument("--code", action="store_true", help="code flow with PKCE (hardened)")
    options = parser.parse_args(argv)
    if options.command == "keygen":
        keygen(options.keyfile, options.client_id, options.redirect_uri)
    else:
        print(authorize_url(options))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
