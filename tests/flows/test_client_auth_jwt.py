"""client_secret_jwt and private_key_jwt client authentication (RFC 7523, OIDC Core §9)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import RunningServer, browser, free_port, sign_in
from tests.flows.test_bad_input import code_request, good_params

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET = "a-client-secret-that-is-long-enough-for-hs256-and-hs384!"
TOKEN = "/konnect/v1/token"
AUTHORIZE = "/signin/v1/identifier/_/authorize"


@pytest.fixture(scope="module")
def private_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)


@pytest.fixture(scope="module")
def remote_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "remote-1"}, private=True)


class KeyHost:
    """A relying party serving its JWK set on a loopback port, counting the fetches."""

    def __init__(self, key: RSAKey) -> None:
        self.fetches = 0
        self.jwks = {"keys": [key.as_dict(private=False)]}

        async def jwks(request: Request) -> JSONResponse:
            self.fetches += 1
            return JSONResponse(self.jwks)

        self.server = RunningServer(Starlette(routes=[Route("/jwks.json", jwks)]), free_port())
        self.server.start()
        self.url = self.server.url + "/jwks.json"


@pytest.fixture
def key_host(remote_key: RSAKey) -> Iterator[KeyHost]:
    host = KeyHost(remote_key)
    yield host
    host.server.stop()


@pytest.fixture
def server(
    server_factory: Callable[..., RunningServer],
    tmp_path: Path,
    private_key: ECKey,
    key_host: KeyHost,
) -> RunningServer:
    public = json.dumps(private_key.as_dict(private=False))
    registry = tmp_path / "jwt-registry.yaml"
    registry.write_text(
        f"""
clients:
  - id: secret-jwt-app
    secret: "{SECRET}"
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    grant_types: [authorization_code, refresh_token, client_credentials]
    token_endpoint_auth_method: client_secret_jwt
    token_endpoint_auth_signing_alg: HS256
  - id: key-jwt-app
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    grant_types: [authorization_code, refresh_token, client_credentials]
    token_endpoint_auth_method: private_key_jwt
    token_endpoint_auth_signing_alg: ES256
    jwks: {{"keys": [{public}]}}
  - id: remote-key-app
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    grant_types: [client_credentials]
    token_endpoint_auth_method: private_key_jwt
    jwks_uri: {key_host.url}
  - id: remote-request-app
    trusted: yes
    application_type: native
    redirect_uris: [http://127.0.0.1:9999/cb]
    request_object_signing_alg: PS256
    jwks_uri: {key_host.url}
  - id: basic-app
    secret: basic-secret
    redirect_uris: [https://rp.example.com/cb]
    grant_types: [client_credentials]
"""
    )
    return server_factory(identifier_registration_conf=registry)


def assertion(
    server: RunningServer,
    client_id: str,
    key: OctKey | ECKey | RSAKey,
    alg: str,
    **changes: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": server.url + TOKEN,
        "exp": now + 60,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    header = {"alg": alg, **({"kid": key.kid} if key.kid else {})}
    return jwt.encode(header, claims, key, algorithms=[alg])


def secret_assertion(server: RunningServer, alg: str = "HS256", **changes: Any) -> str:
    return assertion(server, "secret-jwt-app", OctKey.import_key(SECRET.encode()), alg, **changes)


def client_credentials(server: RunningServer, signed: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **extra,
    }
    return httpx.post(server.url + TOKEN, data=data)


def assert_refused(response: httpx.Response, error: str = "invalid_client") -> None:
    assert response.status_code == (401 if error == "invalid_client" else 400), response.text
    assert response.json()["error"] == error


def test_client_secret_jwt_authenticates_once_per_assertion(server: RunningServer) -> None:
    signed = secret_assertion(server)
    first = client_credentials(server, signed)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "Bearer"
    assert_refused(client_credentials(server, signed))  # jti replay


def test_client_secret_jwt_refuses_wrong_alg_secret_and_plain_secrets(
    server: RunningServer,
) -> None:
    assert_refused(client_credentials(server, secret_assertion(server, alg="HS384")))
    wrong = OctKey.import_key(b"x" * 48)
    assert_refused(client_credentials(server, assertion(server, "secret-jwt-app", wrong, "HS256")))
    # the registered method is the only one: the secret itself does not work
    basic = httpx.post(
        server.url + TOKEN,
        data={"grant_type": "client_credentials"},
        auth=("secret-jwt-app", SECRET),
    )
    assert_refused(basic)


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://somebody.else.example"},
        {"iss": "basic-app"},
        {"exp": None},
        {"exp": int(time.time()) - 3600},
        {"exp": int(time.time()) + 7200},
        {"jti": None},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=["aud", "iss", "no-exp", "expired", "long-lived", "no-jti", "not-yet-valid"],
)
def test_assertion_claims_are_checked(server: RunningServer, changes: dict[str, Any]) -> None:
    assert_refused(client_credentials(server, secret_assertion(server, **changes)))


def test_audience_may_be_the_issuer_or_a_list(server: RunningServer) -> None:
    by_issuer = client_credentials(server, secret_assertion(server, aud=server.url))
    assert by_issuer.status_code == 200, by_issuer.text
    as_list = secret_assertion(server, aud=["https://x.example", server.url + TOKEN])
    assert client_credentials(server, as_list).status_code == 200


def test_malformed_assertions_are_client_errors(server: RunningServer) -> None:
    assert_refused(client_credentials(server, "not.a.jwt"))
    assert_refused(client_credentials(server, "garbage"))
    signed = secret_assertion(server)
    assert_refused(client_credentials(server, signed, client_id="basic-app"))
    wrong_type = httpx.post(
        server.url + TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:example:saml",
            "client_assertion": signed,
        },
    )
    assert_refused(wrong_type, "invalid_request")
    both = client_credentials(server, secret_assertion(server), client_secret=SECRET)
    assert_refused(both, "invalid_request")
    with_basic = httpx.post(
        server.url + TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": secret_assertion(server),
        },
        auth=("secret-jwt-app", SECRET),
    )
    assert_refused(with_basic, "invalid_request")
    unknown = assertion(server, "nobody", OctKey.import_key(SECRET.encode()), "HS256")
    assert_refused(client_credentials(server, unknown))
    # a client registered for secrets cannot switch to an assertion
    basic = assertion(server, "basic-app", OctKey.import_key(SECRET.encode()), "HS256")
    assert_refused(client_credentials(server, basic))


def test_private_key_jwt_code_flow_and_refresh(server: RunningServer, private_key: ECKey) -> None:
    params = good_params(client_id="key-jwt-app", prompt="none", scope="openid offline_access")
    with browser(server.url) as client:
        assert sign_in(client, server.url).status_code == 200
        response = client.get("/signin/v1/identifier/_/authorize?" + urlencode(params))
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    auth = {"client_assertion_type": ASSERTION_TYPE}
    signed = assertion(server, "key-jwt-app", private_key, "ES256")
    tokens = httpx.post(
        server.url + TOKEN, data={**code_request(code), **auth, "client_assertion": signed}
    )
    assert tokens.status_code == 200, tokens.text
    refreshed = httpx.post(
        server.url + TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.json()["refresh_token"],
            "client_id": "key-jwt-app",
            **auth,
            "client_assertion": assertion(server, "key-jwt-app", private_key, "ES256"),
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    # without any authentication the code grant refuses this confidential client
    unauthenticated = httpx.post(
        server.url + TOKEN, data={**code_request(code), "client_id": "key-jwt-app"}
    )
    assert unauthenticated.status_code == 401


def test_private_key_jwt_at_introspection_and_revocation(
    server: RunningServer, private_key: ECKey
) -> None:
    signed = assertion(server, "key-jwt-app", private_key, "ES256")
    token = client_credentials(server, signed).json()["access_token"]
    introspect_url = server.url + "/konnect/v1/introspect"
    data = {
        "token": token,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(
            server, "key-jwt-app", private_key, "ES256", aud=introspect_url
        ),
    }
    introspected = httpx.post(introspect_url, data=data)
    assert introspected.status_code == 200, introspected.text
    assert introspected.json()["active"] is True
    replayed = httpx.post(introspect_url, data=data)
    assert_refused(replayed)
    revoke_url = server.url + "/konnect/v1/revoke"
    revoked = httpx.post(
        revoke_url,
        data={**data, "client_assertion": assertion(server, "key-jwt-app", private_key, "ES256")},
    )
    assert revoked.status_code == 200, revoked.text


def test_private_key_jwt_refuses_other_keys_and_algs(server: RunningServer) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
    assert_refused(client_credentials(server, assertion(server, "key-jwt-app", stranger, "ES256")))
    rsa = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    assert_refused(client_credentials(server, assertion(server, "key-jwt-app", rsa, "RS256")))
    # HMAC with the public key's bytes must never pass as private_key_jwt
    fake = OctKey.import_key(b"k" * 40)
    assert_refused(client_credentials(server, assertion(server, "key-jwt-app", fake, "HS256")))


def test_private_key_jwt_with_keys_from_jwks_uri(
    server: RunningServer, remote_key: RSAKey, key_host: KeyHost
) -> None:
    for _ in range(3):
        signed = assertion(server, "remote-key-app", remote_key, "PS256")
        response = client_credentials(server, signed)
        assert response.status_code == 200, response.text
    assert key_host.fetches == 1  # cached
    key_host.server.stop()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "remote-2"}, private=True)
    # an unknown kid asks again (rate-limited), and an unreachable URL is a client error
    assert_refused(
        client_credentials(server, assertion(server, "remote-key-app", stranger, "PS256"))
    )


def test_request_objects_are_verified_with_keys_from_jwks_uri(
    server: RunningServer, remote_key: RSAKey, key_host: KeyHost
) -> None:
    def authorize(key: RSAKey, state: str) -> dict[str, list[str]]:
        claims = {"client_id": "remote-request-app", "state": state, "scope": "openid"}
        request = jwt.encode({"alg": "PS256", "kid": key.kid}, claims, key, algorithms=["PS256"])
        params = good_params(client_id="remote-request-app", prompt="none", request=request)
        with browser(server.url) as client:
            assert sign_in(client, server.url).status_code == 200
            response = client.get(AUTHORIZE + "?" + urlencode(params))
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["location"]).query)

    for _ in range(2):
        answer = authorize(remote_key, "from-object")
        assert "code" in answer
        assert answer["state"] == ["from-object"]
    assert key_host.fetches == 1  # cached
    stranger = RSAKey.generate_key(2048, parameters={"kid": "remote-2"}, private=True)
    assert authorize(stranger, "x")["error"] == ["invalid_request_object"]


def test_discovery_lists_the_jwt_methods_and_algs(server: RunningServer) -> None:
    document = httpx.get(server.url + "/.well-known/openid-configuration").json()
    for endpoint in ("token", "introspection", "revocation"):
        methods = document[f"{endpoint}_endpoint_auth_methods_supported"]
        assert {"client_secret_jwt", "private_key_jwt"} <= set(methods)
        algs = document[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert {"HS256", "ES256", "PS256", "RS256"} <= set(algs)
        assert "none" not in algs


def test_claims_with_text_that_is_not_unicode_are_malformed(server: RunningServer) -> None:
    """A lone surrogate escape in a signed assertion's jti: refused, not stored (a 500)."""
    now = int(time.time())
    claims = {
        "iss": "secret-jwt-app",
        "sub": "secret-jwt-app",
        "aud": server.url + TOKEN,
        "exp": now + 60,
        "iat": now,
        "jti": "jti-\ud800",
    }
    payload = json.dumps(claims).encode()  # ASCII, the surrogate as a JSON escape
    signed = jws.serialize_compact({"alg": "HS256"}, payload, OctKey.import_key(SECRET.encode()))
    assert_refused(client_credentials(server, signed))
