"""A SAML 2.0 identity provider for the tests: pysaml2's own IdP (saml2.server.Server) behind
a small HTTP server, run as a process of its own on a loopback port.

    python -m tests.authorities.saml_idp <port> <sp-metadata-url> <folder>

It serves its metadata at /metadata, signs in the user `jonas` at /sso (a page with a button
that POSTs the Response to the service provider, as real identity providers do), answers
LogoutRequests at /slo, and starts a logout of the last signed-in user at /logout-user.
The tests use the same class in their own process, with the same key, to make answers that
deviate from what a correct identity provider sends.
"""

from __future__ import annotations

import base64
import datetime
import html
import re
import sys
import time
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.sigver import get_xmlsec_binary, pre_signature_part, signed_instance_factory

with warnings.catch_warnings():
    # pysaml2's IdP role names a cipher mode that cryptography has moved (a warning only).
    warnings.filterwarnings("ignore", message="CFB has been moved")
    from saml2.server import Server

IDENTITY = {"uid": ["jonas"], "mail": ["jonas@corp.example"]}
Change = Callable[[samlp.Response], None]


def write_key_pair(folder: Path, name: str = "idp") -> tuple[Path, Path]:
    """A fresh RSA key and a self-signed certificate for it, as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test {name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


class IdentityProvider:
    """pysaml2's IdP role with the key in `folder` (made once, shared by both processes)."""

    def __init__(self, base_url: str, folder: Path, sp_metadata: str | None) -> None:
        key_file, cert_file = folder / "idp.key", folder / "idp.pem"
        if not key_file.exists():
            key_file, cert_file = write_key_pair(folder)
        self.base_url = base_url
        config = IdPConfig()
        settings: dict[str, Any] = {
            "entityid": base_url + "/metadata",
            "xmlsec_binary": get_xmlsec_binary(),
            "key_file": str(key_file),
            "cert_file": str(cert_file),
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(base_url + "/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(base_url + "/slo", BINDING_HTTP_REDIRECT)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 15},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_BASIC,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                    "want_authn_requests_signed": False,
                }
            },
        }
        if sp_metadata is not None:
            settings["metadata"] = {"inline": [sp_metadata]}
        config.load(settings)
        self.server = Server(config=config)
        self.entity_id: str = config.entityid
        self.last_sign_in: tuple[NameID, str, str] | None = None  # name id, session, SP

    def metadata(self) -> str:
        document = create_metadata_string(None, config=self.server.config, valid=None)
        return document.decode() if isinstance(document, bytes) else str(document)

    def request(self, query: dict[str, str]) -> samlp.AuthnRequest:
        parsed = self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        return parsed.message

    def answer(
        self,
        request: samlp.AuthnRequest,
        *,
        change: Change | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        identity: dict[str, list[str]] | None = None,
        session_not_on_or_after: str | None = None,
    ) -> tuple[str, str]:
        """Where to POST the Response to `request`, and the Response (base64), signed after
        `change` altered it; `session_not_on_or_after` ends the session it states."""
        args = self.server.response_args(request, [BINDING_HTTP_POST])
        session_index = "session-" + request.id
        made = self.server.create_authn_response(
            identity or IDENTITY,
            userid="jonas",
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
                "authn_auth": self.entity_id,
            },
            sign_assertion=False,
            sign_response=False,
            session_not_on_or_after=session_not_on_or_after,
            **args,
        )
        response = samlp.response_from_string(str(made))
        response.assertion[0].authn_statement[0].session_index = session_index
        if change is not None:
            change(response)
        self.last_sign_in = (
            response.assertion[0].subject.name_id,
            session_index,
            args["sp_entity_id"],
        )
        return args["destination"], self.signed(response, sign_assertion, sign_response)

    def signed(self, response: samlp.Response, sign_assertion: bool, sign_response: bool) -> str:
        to_sign = []
        cert = self.server.sec.my_cert
        if sign_assertion:
            response.assertion[0].signature = pre_signature_part(response.assertion[0].id, cert, 1)
            to_sign.append(
                ("urn:oasis:names:tc:SAML:2.0:assertion:Assertion", response.assertion[0].id)
            )
        if sign_response:
            response.signature = pre_signature_part(response.id, cert, 2)
            to_sign.append(("urn:oasis:names:tc:SAML:2.0:protocol:Response", response.id))
        xml = signed_instance_factory(response, self.server.sec, to_sign)
        text = xml if isinstance(xml, str) else xml.to_string().decode()
        return encode(text)

    def logout_answer(self, query: dict[str, str]) -> str:
        """The LogoutResponse URL for the service provider's LogoutRequest."""
        request = self.server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        response = self.server.create_logout_response(request.message, [BINDING_HTTP_REDIRECT])
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            response.destination,
            query.get("RelayState", ""),
            response=True,
            sign=True,
        )
        return str(dict(info["headers"])["Location"])

    def logout_request(self, sign: bool = True) -> str:
        """A LogoutRequest for the last sign-in, as the URL that carries it to the SP."""
        assert self.last_sign_in is not None
        name_id, session_index, sp = self.last_sign_in
        destination = self.server.metadata.single_logout_service(
            sp, BINDING_HTTP_REDIRECT, "spsso"
        )[0]["location"]
        _id, request = self.server.create_logout_request(
            destination, sp, name_id=name_id, session_indexes=[session_index], sign=False
        )
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), destination, "idp-logout", sign=sign
        )
        return str(dict(info["headers"])["Location"])


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def post_page(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return (
        "<!doctype html><title>Test IdP</title><h1>Test IdP</h1>"
        f'<form method="post" action="{html.escape(action)}">{inputs}'
        '<button type="submit">Continue</button></form>'
    )


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of `post_page`'s form (for HTTP-level tests)."""
    found = re.search(r'action="([^"]*)"', page)
    assert found is not None, page
    action = html.unescape(found.group(1))
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([^"]*)" value="([^"]*)"', page)
    }
    return action, fields


def serve(port: int, sp_metadata_url: str, folder: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            sp_metadata = httpx.get(sp_metadata_url).raise_for_status().text
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    idp = IdentityProvider(f"http://127.0.0.1:{port}", folder, sp_metadata)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            if parts.path == "/metadata":
                self._send(200, idp.metadata(), "application/samlmetadata+xml")
            elif parts.path == "/sso":
                action, response = idp.answer(idp.request(query))
                fields = {"SAMLResponse": response, "RelayState": query.get("RelayState", "")}
                self._send(200, post_page(action, fields), "text/html")
            elif parts.path == "/slo":
                self._redirect(idp.logout_answer(query))
            elif parts.path == "/logout-user":
                self._redirect(idp.logout_request())
            else:
                self._send(404, "not found", "text/plain")

        def _send(self, status: int, body: str, media_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
