"""The conformance client: its own server, clients and keys, sign-in, and the ID token checks
the OpenID Foundation's conformance suite applies to every response."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.jwk import KeySet

from konnect.config.model import Settings
from konnect.http.app import Overrides, create_app
from tests.conformance.receiver import Receiver
from tests.conftest import LOOPBACK, PASSWORD, RunningServer, api_headers, free_port

AUTHORIZE = "/signin/v1/identifier/_/authorize"
REDIRECT_URI = "http://127.0.0.1:9999/cb"
POST_LOGOUT_URI = "http://127.0.0.1:9999/logged-out"
CLIENT_ID = "conformance-1"
CLIENT_SECRET = "conformance-secret-1"
SECOND_CLIENT_ID = "conformance-2"
SECOND_CLIENT_SECRET = "conformance-secret-2"
REQUEST_OBJECT_PATH = "/request.jwt"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Makes a client assertion (RFC 7523) for private_key_jwt, one per token request.
Assertion = Callable[[], str]
CONSENT_REF = "conformance-consent"
SKEW = 5  # seconds of clock difference the suite tolerates
# The suite signs in hundreds of times; a cheap argon2id hash keeps that fast.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


@dataclass(frozen=True)
class Profile:
    """The response type and mode a plan runs its modules with."""

    response_type: str
    response_mode: str = ""

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self.response_type.split())

    @property
    def has_code(self) -> bool:
        return "code" in self.types

    @property
    def front_id_token(self) -> bool:
        return "id_token" in self.types

    @property
    def front_access_token(self) -> bool:
        return "token" in self.types

    def __str__(self) -> str:
        mode = f"-{self.response_mode}" if self.response_mode else ""
        return self.response_type.replace(" ", "+") + mode


#: The plain authorization code flow, which most modules outside the response-type plans use.
CODE = Profile("code")


@dataclass
class OffsetClock:
    """Real time plus an offset the tests can move forward (max_age, code lifetime)."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def write_config(
    folder: Path, extra_clients: str = "", request_uri: str = "", **changes: Any
) -> Settings:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "signing.pem").write_bytes(pem)
    (folder / "secret.key").write_bytes(bytes(range(32)))
    (folder / "users.yaml").write_text(
        f"""
users:
  - username: alice
    password_hash: "{CHEAP_HASHER.hash(PASSWORD)}"
    id: "2001"
    numeric_id: 2001
    name: Alice Liddell
    given_name: Alice
    family_name: Liddell
    email: alice@example.com
    email_verified: true
    groups: [readers, writers]
"""
    )
    clients = "".join(
        f"""
  - id: {client_id}
    name: Conformance {client_id}
    secret: {secret}
    trusted: yes
    application_type: native
    redirect_uris: [{REDIRECT_URI}]
    post_logout_redirect_uris: [{POST_LOGOUT_URI}]
    request_object_signing_alg: none
    request_uris: [{request_uri or "https://rp.example.com/request.jwt"}]
    resource_server: yes
"""
        for client_id, secret in (
            (CLIENT_ID, CLIENT_SECRET),
            (SECOND_CLIENT_ID, SECOND_CLIENT_SECRET),
        )
    )
    (folder / "registry.yaml").write_text("clients:" + clients + extra_clients)
    port = free_port()
    return Settings(
        issuer=f"http://127.0.0.1:{port}",
        listen=f"127.0.0.1:{port}",
        signing_private_keys=(folder / "signing.pem",),
        encryption_secret=folder / "secret.key",
        identifier_registration_conf=folder / "registry.yaml",
        identity_manager="users",
        users_file=folder / "users.yaml",
        **{"outgoing_allowed_networks": LOOPBACK, "data_dir": folder / "data", **changes},
    )


@dataclass
class Response:
    """What the authorization endpoint delivered to the client's redirect URI."""

    params: dict[str, str]
    channel: str  # query, fragment or form_post

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def get(self, key: str) -> str | None:
        return self.params.get(key)


def single(values: dict[str, list[str]]) -> dict[str, str]:
    for key, found in values.items():
        assert len(found) == 1, f"parameter {key} appears {len(found)} times"
    return {key: found[0] for key, found in values.items()}


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass
class Conformance:
    """A conformance client for one running konnect."""

    server: RunningServer
    clock: OffsetClock
    meta: dict[str, Any] = field(default_factory=dict)
    keys: KeySet | None = None
    # The relying party's web server, where it keeps request objects for request_uri.
    request_objects: Receiver | None = None

    def __post_init__(self) -> None:
        self.meta = httpx.get(self.url + "/.well-known/openid-configuration").json()

    @property
    def url(self) -> str:
        return self.server.url

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)

    def jwks(self) -> KeySet:
        if self.keys is None:
            self.keys = KeySet.import_key_set(self.fetch_jwks())  # type: ignore[arg-type]
        return self.keys

    def fetch_jwks(self) -> dict[str, Any]:
        response = httpx.get(self.meta["jwks_uri"])
        assert response.status_code == 200
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in ("application/json", "application/jwk-set+json")
        return dict(response.json())

    def request(self, profile: Profile, **changes: str) -> dict[str, str]:
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": profile.response_type,
            "scope": "openid",
            "state": "conformance-state",
            "nonce": "conformance-nonce",
        }
        if profile.response_mode:
            params["response_mode"] = profile.response_mode
        params.update(changes)
        return {key: value for key, value in params.items() if value != "-"}

    def sign_in(self, browser: httpx.Client) -> None:
        response = browser.post(
            "/signin/v1/identifier/_/logon",
            json={"state": "s1", "params": ["alice", PASSWORD, "1"], "hello": None},
            headers=api_headers(self.url),
        )
        assert response.status_code == 200, response.text

    def open_authorize(
        self, browser: httpx.Client, params: dict[str, str], method: str = "GET"
    ) -> httpx.Response:
        if method == "POST":
            return browser.post(AUTHORIZE, data=params)
        return browser.get(AUTHORIZE + "?" + urlencode(params))

    def authorize(
        self,
        browser: httpx.Client,
        params: dict[str, str],
        *,
        method: str = "GET",
        expect_login: bool | None = None,
    ) -> Response:
        """Run one authorization request, signing in when konnect shows the login page
        (the web app then resumes the request with prompt=none)."""
        response = self.open_authorize(browser, params, method)
        login_page = self.is_login_page(response)
        if expect_login is not None:
            assert login_page == expect_login, response.headers.get("location")
        if login_page:
            self.sign_in(browser)
            response = self.open_authorize(browser, {**params, "prompt": "none"}, method)
            if self.asks_consent(response):
                self.consent(browser, params)
                resumed = {**params, "prompt": "none", "konnect": CONSENT_REF}
                response = self.open_authorize(browser, resumed, method)
        return self.delivered(response)

    def asks_consent(self, response: httpx.Response) -> bool:
        """A client that is not trusted gets consent_required until the user approves it."""
        location = response.headers.get("location", "")
        return "error=consent_required" in location or "consent_required" in response.text

    def consent(self, browser: httpx.Client, params: dict[str, str]) -> None:
        """What the web app's consent screen posts when the user allows the request."""
        approval = {
            "state": CONSENT_REF,
            "allow": True,
            "scope": params.get("scope", "openid"),
            "client_id": params["client_id"],
            "redirect_uri": params.get("redirect_uri", ""),
            "ref": params.get("state", ""),
            "flow_nonce": params.get("nonce", ""),
        }
        response = browser.post(
            "/signin/v1/identifier/_/consent", json=approval, headers=api_headers(self.url)
        )
        assert response.status_code == 200, response.text

    def is_login_page(self, response: httpx.Response) -> bool:
        location = response.headers.get("location", "")
        return response.status_code == 302 and location.startswith(
            self.url + "/signin/v1/identifier?"
        )

    def delivered(self, response: httpx.Response) -> Response:
        """The parameters delivered to the redirect URI, by whichever channel."""
        if response.status_code == 200 and "<form" in response.text:
            assert response.headers["content-type"].startswith("text/html")
            assert f'action="{REDIRECT_URI}"' in response.text
            fields = re.findall(r'name="([^"]+)" value="([^"]*)"', response.text)
            return Response({k: html.unescape(v) for k, v in fields}, "form_post")
        assert response.status_code in (302, 303), response.text
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI), location
        parts = urlsplit(location)
        if parts.fragment:
            return Response(single(parse_qs(parts.fragment)), "fragment")
        return Response(single(parse_qs(parts.query)), "query")

    def check_channel(self, profile: Profile, response: Response) -> None:
        """The response arrives where the response type and mode say it must."""
        expected = profile.response_mode or ("query" if profile.types == {"code"} else "fragment")
        assert response.channel == expected
        assert response.get("iss") == self.meta["issuer"]  # RFC 9207

    def token(
        self,
        code: str,
        *,
        client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
        post: bool = False,
        assertion: Assertion | None = None,
        redirect_uri: str = REDIRECT_URI,
    ) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if assertion is not None:  # private_key_jwt: a fresh client assertion per request
            data.update(client_id=client[0], client_assertion_type=ASSERTION_TYPE)
            data["client_assertion"] = assertion()
            return httpx.post(self.meta["token_endpoint"], data=data)
        if post:
            data.update(client_id=client[0], client_secret=client[1])
            return httpx.post(self.meta["token_endpoint"], data=data)
        return httpx.post(self.meta["token_endpoint"], data=data, auth=client)

    def decode_id_token(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a signed ID token, its signature checked against the JWKS."""
        header, claims = self.verify_jwt(token)
        assert header["alg"] in self.meta["id_token_signing_alg_values_supported"]
        return header, claims

    def verify_jwt(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a JWT konnect signed, verified with the key its kid names."""
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["alg"] != "none"
        assert header.get("kid"), "the JWT names its key (OP-IDToken-kid)"
        key = self.jwks().get_by_kid(header["kid"])
        verified = jws.deserialize_compact(token, key, algorithms=[header["alg"]])
        return header, json.loads(verified.payload)

    def validate_id_token(
        self,
        token: str,
        *,
        client_id: str = CLIENT_ID,
        nonce: str | None = "conformance-nonce",
        code: str | None = None,
        access_token: str | None = None,
        max_age: int | None = None,
    ) -> dict[str, Any]:
        _, claims = self.decode_id_token(token)
        now = self.clock()
        assert claims["iss"] == self.meta["issuer"]
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        assert client_id in audience
        if len(audience) > 1 or "azp" in claims:
            assert claims["azp"] == client_id
        sub = claims["sub"]
        assert isinstance(sub, str)
        assert 0 < len(sub) <= 255
        assert sub.isascii()
        assert isinstance(claims["exp"], int)
        assert isinstance(claims["iat"], int)
        assert claims["exp"] > now - SKEW
        assert claims["iat"] <= now + SKEW
        assert claims["iat"] > now - 600
        if nonce is not None:
            assert claims["nonce"] == nonce
        if code is not None:
            assert claims["c_hash"] == half_hash(code)
        if access_token is not None:
            assert claims["at_hash"] == half_hash(access_token)
        if max_age is not None:
            assert isinstance(claims["auth_time"], int)
            assert claims["auth_time"] + max_age >= now - SKEW
        return claims

    def userinfo(self, access_token: str, how: str = "get") -> httpx.Response:
        endpoint = self.meta["userinfo_endpoint"]
        if how == "body":
            return httpx.post(endpoint, data={"access_token": access_token})
        headers = {"Authorization": f"Bearer {access_token}"}
        if how == "post":
            return httpx.post(endpoint, headers=headers)
        return httpx.get(endpoint, headers=headers)


def start_conformance(
    folder: Path,
    extra_clients: str = "",
    request_objects: Receiver | None = None,
    **changes: Any,
) -> tuple[Conformance, RunningServer]:
    """A konnect for one plan; `extra_clients` adds registry entries (YAML list items), and
    the static clients keep their request objects at `request_objects`, if given."""
    request_uri = request_objects.url + REQUEST_OBJECT_PATH if request_objects else ""
    settings = write_config(folder, extra_clients, request_uri, **changes)
    clock = OffsetClock()
    port = int(settings.listen.rsplit(":", 1)[1])
    server = RunningServer(create_app(settings, Overrides(clock=clock)), port)
    server.start()
    return Conformance(server, clock, request_objects=request_objects), server
