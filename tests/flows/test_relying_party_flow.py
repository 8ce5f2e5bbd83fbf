"""The whole code flow driven by a real relying-party library (authlib's OAuth client).

The browser part (following redirects, signing in through the identifier API) is played by
httpx; the relying party is authlib's client, validating ID tokens with the published JWKS.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from konnect.crypto import public_subject
from tests.conftest import RunningServer, browser, sign_in

REDIRECT_URI = "http://127.0.0.1:9999/cb"


def discovery(server: RunningServer) -> dict[str, Any]:
    response = httpx.get(server.url + "/.well-known/openid-configuration")
    assert response.status_code == 200
    return dict(response.json())


def relying_party(client_id: str = "trusted-app", secret: str = "trusted-secret") -> OAuth2Session:
    return OAuth2Session(
        client_id,
        secret,
        scope="openid profile email offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def authorize_in_browser(server: RunningServer, url: str) -> str:
    """Follow the authorize request through sign-in; returns the final redirect to the RP
    as the RP's server receives it (browsers never send the fragment)."""
    with browser(server.url) as client:
        first = client.get(url)
        assert first.status_code == 302
        assert first.headers["location"].startswith(server.url + "/signin/v1/identifier?")
        assert sign_in(client, server.url).status_code == 200
        done = client.get(url + "&prompt=none")
        assert done.status_code == 302, done.text
        return str(done.headers["location"]).partition("#")[0]


def validate_id_token(server: RunningServer, token: str, nonce: str) -> dict[str, Any]:
    meta = discovery(server)
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    decoded = jwt.decode(token, keys, algorithms=meta["id_token_signing_alg_values_supported"])
    claims = dict(decoded.claims)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": "trusted-app"},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
    ).validate(claims)
    return claims


def test_code_flow_with_pkce_refresh_and_userinfo(server: RunningServer) -> None:
    meta = discovery(server)
    rp = relying_party()
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    callback = authorize_in_browser(server, url)
    assert callback.startswith(REDIRECT_URI + "?")
    assert f"state={state}" in callback

    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = validate_id_token(server, token["id_token"], nonce)
    assert claims["sub"] == public_subject("1001", "identifier-users")
    assert claims["name"] == "Jonas Brekke"
    assert "refresh_token" in token

    userinfo = rp.get(meta["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == "jonas@example.com"
    assert userinfo["email_verified"] is True
    assert userinfo["preferred_username"] == "jonas"

    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    again = rp.get(meta["userinfo_endpoint"]).json()
    assert again["sub"] == claims["sub"]


def test_access_token_carries_konnect_claims(server: RunningServer) -> None:
    meta = discovery(server)
    rp = relying_party()
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce="n"
    )
    token = rp.fetch_token(
        meta["token_endpoint"],
        authorization_response=authorize_in_browser(server, url),
        code_verifier=verifier,
    )
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    claims = jwt.decode(token["access_token"], keys, algorithms=["PS256"]).claims
    assert claims["aud"] == "trusted-app"
    assert claims["kc.isAccessToken"] is True
    assert claims["kc.provider"] == "identifier-users"
    assert claims["kc.identity"]["kc.i.id"] == "1001"
    assert claims["kc.identity"]["kc.i.un"] == "jonas"
    assert set(claims["kc.authorizedScopes"]) == {"openid", "profile", "email", "offline_access"}
    assert claims["exp"] - claims["iat"] == 600
    assert claims["jti"]


def test_reused_code_fails_and_revokes_what_it_issued(server: RunningServer) -> None:
    meta = discovery(server)
    rp = relying_party()
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce="n"
    )
    callback = authorize_in_browser(server, url)
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert rp.get(meta["userinfo_endpoint"]).status_code == 200

    code = httpx.URL(callback).params["code"]
    second = httpx.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=("trusted-app", "trusted-secret"),
    )
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert rp.get(meta["userinfo_endpoint"]).status_code == 401
    refresh = httpx.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("trusted-app", "trusted-secret"),
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
