"""Client-controlled guests as Kopano Meet and kwmserver use them, and the hardened path."""

from __future__ import annotations

import hashlib
import json
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from konnect.crypto import public_subject
from tests.conftest import RedisServer, RunningServer, browser, sign_in

AUTHORIZE = "/signin/v1/identifier/_/authorize"
MEET = "kpop-meet"
REDIRECT = "http://127.0.0.1:9999/meet/"
GUEST_ID = "Xy7c1AZ0q9bQp3Lr5Tn8Wd2Ke6Hm4Jf0@1.kwmguest"
#: A guest's `kc.i.id`: its id in the guests' namespace (Konnect's hashed guest subject).
GUEST_KC_ID = public_subject(GUEST_ID, "guest")
PASSTHRU = {"kopano/kwm/guest": {"type": "1", "path": "group/public/room1"}}
VERIFIER = "g" * 50
CHALLENGE = urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def meet_key() -> ECKey:
    """The meeting server's P-256 key pair; konnect only knows the public half."""
    return ECKey.generate_key("P-256", parameters={"kid": "meet-kwmserver"}, private=True)


def _same_kid(key: ECKey, curve: str = "P-256") -> ECKey:
    """Another key pair that claims to be the meeting server's key."""
    return ECKey.generate_key(curve, parameters={"kid": str(key.kid)}, private=True)


def _registry(path: Path, key: ECKey) -> Path:
    public = json.dumps({**key.as_dict(private=False), "use": "sig"})
    path.write_text(
        f"""
clients:
  - id: {MEET}
    name: Meet
    application_type: native
    trusted: yes
    redirect_uris: [{REDIRECT}]
    post_logout_redirect_uris: [{REDIRECT}]
    # konnect/raw_sub: an operator's slip that guests must not profit from
    trusted_scopes: [konnect/guestok, kopano/kwm, konnect/raw_sub]
    request_object_signing_alg: ES256
    jwks: {{"keys": [{public}]}}
  - id: no-guests
    name: No guests
    application_type: native
    trusted: yes
    redirect_uris: [{REDIRECT}]
    trusted_scopes: [kopano/kwm]
    request_object_signing_alg: ES256
    jwks: {{"keys": [{public}]}}
"""
    )
    return path


@pytest.fixture
def guest_server_factory(
    server_factory: Callable[..., RunningServer], tmp_path: Path, meet_key: ECKey
) -> Callable[..., RunningServer]:
    registry = _registry(tmp_path / "meet-registry.yaml", meet_key)

    def start(**changes: object) -> RunningServer:
        options: dict[str, object] = {
            "identifier_registration_conf": registry,
            "allow_client_guests": True,
        }
        options.update(changes)
        return server_factory(**options)

    return start


@pytest.fixture
def guest_server(guest_server_factory: Callable[..., RunningServer]) -> RunningServer:
    return guest_server_factory()


def guest_claims(client_id: str = MEET, **changes: Any) -> dict[str, Any]:
    """What kwmserver signs for `POST /api/kwm/v2/guest/logon` (no iss/aud/exp/iat)."""
    claims: dict[str, Any] = {
        "client_id": client_id,
        "response_type": "id_token token",
        "scope": "openid profile email kopano/kwm konnect/guestok",
        "claims": {
            "id_token": {
                "guest": {"essential": True, "value": GUEST_ID},
                "name": {"value": "(Guest) Alice"},
            },
            "passthru": PASSTHRU,
        },
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def hardened_claims(server: RunningServer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = guest_claims(
        iss=MEET, aud=server.url, iat=now, exp=now + 120, jti=f"jti-{time.time_ns()}"
    )
    claims.update(changes)
    return claims


def sign(key: ECKey, claims: dict[str, Any], alg: str = "ES256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def authorize(
    server: RunningServer, token: str, http: httpx.Client | None = None, **query: str
) -> httpx.Response:
    """An authorize request as the Meet app sends it, in a fresh browser unless given one."""
    params = {
        "client_id": MEET,
        "redirect_uri": REDIRECT,
        "response_type": "id_token token",
        "scope": "openid profile email kopano/kwm konnect/guestok",
        "nonce": "meet-nonce",
        "state": "meet-state",
        "prompt": "none",
        "request": token,
    }
    params.update(query)
    params = {key: value for key, value in params.items() if value != "-"}
    if http is not None:
        return http.get(AUTHORIZE + "?" + urlencode(params))
    with browser(server.url) as client:
        return client.get(AUTHORIZE + "?" + urlencode(params))


def answer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.geturl().startswith(REDIRECT)
    values = parse_qs(location.fragment or location.query)
    return {key: value[0] for key, value in values.items()}


def decode(token: str) -> dict[str, Any]:
    """A JWT's payload (signatures are konnect's business; userinfo checks them)."""
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return result


def check_guest_tokens(server: RunningServer, access_token: str, id_token: str) -> None:
    """Every claim Kopano Meet and kwmserver read, in the place they read it."""
    access = decode(access_token)
    assert access["kc.isAccessToken"] is True
    assert access["kc.provider"] == "guest"
    assert access["aud"] == MEET
    assert access["iss"] == server.url
    assert access["kc.identity"]["kc.i.id"] == GUEST_KC_ID
    assert access["kc.identity"]["kc.i.guest"] is True
    assert access["kc.identity"]["kc.i.da"]["n"] == "(Guest) Alice"
    assert access["kc.authorizedClaims"]["passthru"] == PASSTHRU
    assert access["kc.authorizedClaims"]["id_token"]["guest"]["value"] == GUEST_ID
    scopes = access["kc.authorizedScopes"]
    assert {"openid", "profile", "email", "kopano/kwm", "konnect/guestok"} <= set(scopes)
    assert "offline_access" not in scopes
    assert access["exp"] - access["iat"] == 300
    identity = decode(id_token)
    assert identity["sub"] == access["sub"] == public_subject(GUEST_KC_ID, "guest")
    assert identity["sub"].endswith("@konnect")
    assert identity["aud"] == MEET
    assert identity["name"] == "(Guest) Alice"
    assert identity["nonce"] == "meet-nonce"
    assert identity["exp"] - identity["iat"] == 300
    userinfo = httpx.get(
        server.url + "/konnect/v1/userinfo", headers={"Authorization": "Bearer " + access_token}
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == identity["sub"]
    assert userinfo.json()["name"] == "(Guest) Alice"


def test_meet_guest_with_implicit_flow_and_prompt_none(
    guest_server: RunningServer, meet_key: ECKey
) -> None:
    result = answer(authorize(guest_server, sign(meet_key, guest_claims())))
    assert result["state"] == "meet-state"
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == "300"
    assert "at_hash" in decode(result["id_token"])
    check_guest_tokens(guest_server, result["access_token"], result["id_token"])


def test_guest_with_code_flow_and_pkce(guest_server: RunningServer, meet_key: ECKey) -> None:
    claims = hardened_claims(guest_server, response_type="code")
    response = authorize(
        guest_server,
        sign(meet_key, claims),
        response_type="code",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )
    code = answer(response)["code"]
    tokens = httpx.post(
        guest_server.url + "/konnect/v1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": MEET,
            "code_verifier": VERIFIER,
        },
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["expires_in"] == 300
    assert "refresh_token" not in body
    check_guest_tokens(guest_server, body["access_token"], body["id_token"])


def test_signed_in_user_wins_over_guest(guest_server: RunningServer, meet_key: ECKey) -> None:
    with browser(guest_server.url) as http:
        assert sign_in(http, guest_server.url).status_code == 200
        result = answer(authorize(guest_server, sign(meet_key, guest_claims()), http))
    access = decode(result["access_token"])
    assert access["kc.provider"] != "guest"
    assert access["kc.identity"]["kc.i.id"] == "1001"


def test_guest_end_session_redirects_only_to_registered_uris(
    guest_server: RunningServer, meet_key: ECKey
) -> None:
    result = answer(authorize(guest_server, sign(meet_key, guest_claims())))
    with browser(guest_server.url) as http:
        for target, allowed in ((REDIRECT, True), ("https://evil.example.com/", False)):
            response = http.get(
                "/signin/v1/identifier/_/endsession",
                params={
                    "id_token_hint": result["id_token"],
                    "post_logout_redirect_uri": target,
                    "state": "bye",
                },
            )
            if allowed:
                assert response.status_code == 302
                assert response.headers["location"] == REDIRECT + "?state=bye"
            else:
                assert response.status_code == 400
                assert "evil" not in response.headers.get("location", "")


def _hs256_with_public_key(key: ECKey, claims: dict[str, Any]) -> str:
    secret = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
    return jwt.encode({"alg": "HS256", "kid": key.kid}, claims, secret, algorithms=["HS256"])


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return part({"alg": "none"}) + "." + part(claims) + "."


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("wrong key", "invalid_request_object"),
        ("alg none", "invalid_request_object"),
        ("hs256 with public key", "invalid_request_object"),
        ("other alg", "invalid_request_object"),
        ("missing guest", "login_required"),
        ("empty guest", "login_required"),
        ("guest not a string", "login_required"),
        ("guestok not requested", "login_required"),
        ("expired", "invalid_request_object"),
        ("lives too long", "login_required"),
        ("wrong audience", "invalid_request_object"),
        ("prompt consent", "interaction_required"),
    ],
)
def test_bad_guest_requests_are_answered_without_a_guest(
    guest_server: RunningServer, meet_key: ECKey, case: str, error: str
) -> None:
    claims = guest_claims()
    query: dict[str, str] = {}
    id_token = claims["claims"]["id_token"]
    if case == "wrong key":
        token = sign(_same_kid(meet_key), claims)
    elif case == "alg none":
        token = _unsigned(claims)
    elif case == "hs256 with public key":
        token = _hs256_with_public_key(meet_key, claims)
    elif case == "other alg":
        token = sign(_same_kid(meet_key, "P-384"), claims, "ES384")
    else:
        if case == "missing guest":
            del id_token["guest"]
            id_token["name"]["essential"] = True
        elif case == "empty guest":
            id_token["guest"]["value"] = ""
        elif case == "guest not a string":
            id_token["guest"]["value"] = 42
        elif case == "guestok not requested":
            claims["scope"] = "openid profile"
            query["scope"] = "openid profile"
        elif case == "expired":
            claims = hardened_claims(guest_server, exp=int(time.time()) - 5)
        elif case == "lives too long":
            claims = hardened_claims(guest_server, exp=int(time.time()) + 3600)
        elif case == "wrong audience":
            claims = hardened_claims(guest_server, aud="https://elsewhere.example.com")
        elif case == "prompt consent":
            query["prompt"] = "consent"
        token = sign(meet_key, claims)
    result = answer(authorize(guest_server, token, None, **query))
    assert result["error"] == error
    assert result["state"] == "meet-state"
    assert "access_token" not in result


def test_client_without_guestok_gets_no_guest(guest_server: RunningServer, meet_key: ECKey) -> None:
    token = sign(meet_key, guest_claims("no-guests"))
    result = answer(authorize(guest_server, token, client_id="no-guests"))
    assert result["error"] == "login_required"


def test_offline_access_is_never_granted_to_guests(
    guest_server: RunningServer, meet_key: ECKey
) -> None:
    scope = "openid profile kopano/kwm konnect/guestok offline_access"
    result = answer(authorize(guest_server, sign(meet_key, guest_claims(scope=scope))))
    assert "offline_access" not in result["scope"].split()
    assert "offline_access" not in decode(result["access_token"])["kc.authorizedScopes"]


def test_replayed_request_object_is_refused(guest_server: RunningServer, meet_key: ECKey) -> None:
    token = sign(meet_key, hardened_claims(guest_server))
    assert "access_token" in answer(authorize(guest_server, token))
    assert answer(authorize(guest_server, token))["error"] == "login_required"


def test_required_hardening_claims_refuse_a_plain_meet_object(
    guest_server_factory: Callable[..., RunningServer], meet_key: ECKey
) -> None:
    server = guest_server_factory(guest_request_object_require_exp_jti=True)
    plain = answer(authorize(server, sign(meet_key, guest_claims())))
    assert plain["error"] == "login_required"
    hardened = answer(authorize(server, sign(meet_key, hardened_claims(server))))
    assert "access_token" in hardened


def test_guests_are_off_unless_allowed(
    guest_server_factory: Callable[..., RunningServer], meet_key: ECKey
) -> None:
    server = guest_server_factory(allow_client_guests=False)
    result = answer(authorize(server, sign(meet_key, guest_claims())))
    assert result["error"] == "login_required"


def test_guest_refusals_are_logged_with_the_reason(
    guest_server: RunningServer, meet_key: ECKey, caplog: pytest.LogCaptureFixture
) -> None:
    claims = guest_claims()
    claims["claims"]["id_token"]["guest"]["value"] = ""
    with caplog.at_level("WARNING"):
        assert answer(authorize(guest_server, sign(meet_key, claims)))["error"] == "login_required"
    assert any("guest sign-in refused" in record.getMessage() for record in caplog.records)
    assert any("non-empty" in record.getMessage() for record in caplog.records)


def test_a_jti_is_spent_across_instances_sharing_redis(
    guest_server_factory: Callable[..., RunningServer],
    meet_key: ECKey,
    redis_server: RedisServer,
) -> None:
    first, second = (guest_server_factory(state_store=redis_server.url) for _ in range(2))
    token = sign(meet_key, guest_claims(jti=f"shared-{time.time_ns()}"))
    assert "access_token" in answer(authorize(first, token))
    assert answer(authorize(second, token))["error"] == "login_required"


def test_guest_email_stays_verified_and_plain_id_token_names_the_guest(
    guest_server: RunningServer, meet_key: ECKey
) -> None:
    claims = guest_claims(response_type="id_token")
    claims["claims"]["id_token"]["email"] = {"value": "alice@example.com"}
    claims["claims"]["id_token"]["email_verified"] = {"value": True}
    result = answer(authorize(guest_server, sign(meet_key, claims), response_type="id_token"))
    identity = decode(result["id_token"])
    assert identity["guest"] == GUEST_KC_ID
    assert identity["email"] == "alice@example.com"
    assert identity["email_verified"] is True
    implicit = answer(authorize(guest_server, sign(meet_key, guest_claims())))
    assert "guest" not in decode(implicit["id_token"])
    claims = guest_claims()
    claims["claims"]["id_token"]["email"] = {"value": "alice@example.com"}
    claims["claims"]["id_token"]["email_verified"] = {"value": True}
    access_token = answer(authorize(guest_server, sign(meet_key, claims)))["access_token"]
    userinfo = httpx.get(
        guest_server.url + "/konnect/v1/userinfo",
        headers={"Authorization": "Bearer " + access_token},
    ).json()
    assert userinfo["email_verified"] is True


def test_guest_details_use_konnects_keys(guest_server: RunningServer, meet_key: ECKey) -> None:
    """kwmserver and Konnect read `kc.i.da` as `n`, `e`, `nf`, `ng` and `ev: 1`."""
    claims = guest_claims()
    claims["claims"]["id_token"].update(
        {
            "email": {"value": "alice@example.com"},
            "email_verified": {"value": True},
            "given_name": {"value": "Alice"},
            "family_name": {"value": "Liddell"},
        }
    )
    access = decode(answer(authorize(guest_server, sign(meet_key, claims)))["access_token"])
    assert access["kc.identity"]["kc.i.da"] == {
        "n": "(Guest) Alice",
        "e": "alice@example.com",
        "ev": 1,
        "nf": "Liddell",
        "ng": "Alice",
    }


def test_a_guest_cannot_take_a_real_users_id_or_raw_sub(
    guest_server: RunningServer, meet_key: ECKey
) -> None:
    """A guest named like a real user (users file id 1001), asking for konnect/raw_sub, which
    the client's trusted_scopes list: neither its sub nor its kc.i.id is the user's."""
    scope = "openid profile kopano/kwm konnect/guestok konnect/raw_sub"
    claims = guest_claims(scope=scope)
    claims["claims"]["id_token"]["guest"]["value"] = "1001"
    result = answer(authorize(guest_server, sign(meet_key, claims), scope=scope))
    access, identity = decode(result["access_token"]), decode(result["id_token"])
    assert "konnect/raw_sub" not in access["kc.authorizedScopes"]
    assert access["kc.identity"]["kc.i.id"] == public_subject("1001", "guest")
    assert (
        identity["sub"] == access["sub"] == public_subject(public_subject("1001", "guest"), "guest")
    )
    with browser(guest_server.url) as client:
        sign_in(client, guest_server.url)
        user = answer(authorize(guest_server, "-", http=client, request="-", scope="openid"))
    user_sub = decode(user["id_token"])["sub"]
    assert identity["sub"] != user_sub
