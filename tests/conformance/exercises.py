"""Steps the discovery exercises share: clients registered to authenticate by each method and
assertion algorithm at the token, revocation and introspection endpoints, a public client's
token, request objects signed with each algorithm, the logout channels, and everything a
client can learn about the demo user."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from tests.conformance.channels import check_post_logout_redirect, load_frames, open_end_session
from tests.conformance.dynamic import (
    ClientKey,
    DynamicClient,
    client_flow,
    public_jwks,
    registered,
    sign,
)
from tests.conformance.flow import Flow, finish_flow, run_flow
from tests.conformance.harness import (
    ASSERTION_TYPE,
    CLIENT_ID,
    CLIENT_SECRET,
    CODE,
    POST_LOGOUT_URI,
    REDIRECT_URI,
    Conformance,
    Profile,
)
from tests.conformance.modules import pkce, returned_claims, unsigned_request_object
from tests.conformance.receiver import BACKCHANNEL_PATH, FRONTCHANNEL_PATH, Received

CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
LOGOUT_PATHS = {"frontchannel": FRONTCHANNEL_PATH, "backchannel": BACKCHANNEL_PATH}


@functools.cache
def key_for(alg: str) -> RSAKey | ECKey | OKPKey:
    """A client key that signs with `alg`, one per algorithm for all the exercises."""
    key: RSAKey | ECKey | OKPKey
    if alg in CURVES:
        key = ECKey.generate_key(CURVES[alg])
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    else:
        key = RSAKey.generate_key(2048)
    key.ensure_kid()
    return key


def method_for(alg: str) -> str:
    """Assertions signed with HMAC prove the secret; the others, the client's own key."""
    return "client_secret_jwt" if alg.startswith("HS") else "private_key_jwt"


@dataclass(frozen=True)
class Caller:
    """A registered client and the way it authenticates its requests (OIDC Core §9)."""

    conf: Conformance
    client: DynamicClient
    method: str

    def post(self, url: str, **data: str) -> httpx.Response:
        if self.method == "client_secret_basic":
            return httpx.post(url, data=data, auth=self.client.credentials)
        data["client_id"] = self.client.id
        if self.method == "client_secret_post":
            data["client_secret"] = self.client.credentials[1]
        elif self.method in JWT_METHODS:
            data["client_assertion_type"] = ASSERTION_TYPE
            data["client_assertion"] = self.client.assertion_for(self.conf, audience=url)
        return httpx.post(url, data=data)  # "none": the client_id alone


def caller(conf: Conformance, method: str, alg: str | None = None) -> Caller:
    """A client registered for `method`, its assertions signed with `alg` (or the default)."""
    alg = alg or ("HS256" if method == "client_secret_jwt" else "RS256")
    key: ClientKey | None = key_for(alg) if method == "private_key_jwt" else None
    metadata: dict[str, Any] = {"token_endpoint_auth_method": method}
    if method in JWT_METHODS:
        metadata["token_endpoint_auth_signing_alg"] = alg
    if key is not None:
        metadata["jwks"] = public_jwks(key)
    client = registered(conf, key, **metadata)
    if method == "client_secret_jwt":
        client.key = OctKey.import_key(client.credentials[1])
    client.alg = alg
    return Caller(conf, client, method)


def token_for(conf: Conformance, browser: httpx.Client, who: Caller) -> str:
    """An access token the client obtains in a code flow with PKCE, authenticating its way at
    the token endpoint (dynamic clients cannot use client_credentials)."""
    endpoint = conf.meta["token_endpoint"]
    verifier, challenge = pkce()
    params = conf.request(CODE, client_id=who.client.id, code_challenge=challenge)
    code = conf.authorize(browser, {**params, "code_challenge_method": "S256"})["code"]
    form = {"code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    response = who.post(endpoint, grant_type="authorization_code", **form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"].lower() == "bearer"
    return str(response.json()["access_token"])


def introspected(conf: Conformance, token: str) -> dict[str, Any]:
    """What the introspection endpoint says of a token, asked by the static client (a
    resource server, so it may ask about any client's access tokens)."""
    url = conf.meta["introspection_endpoint"]
    response = httpx.post(url, data={"token": token}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.text
    return dict(response.json())


def revoke_own_token(conf: Conformance, browser: httpx.Client, who: Caller) -> None:
    token = token_for(conf, browser, who)
    assert introspected(conf, token)["active"] is True
    response = who.post(conf.meta["revocation_endpoint"], token=token)
    assert response.status_code == 200, response.text
    assert introspected(conf, token) == {"active": False}


def introspect_own_token(conf: Conformance, browser: httpx.Client, who: Caller) -> None:
    token = token_for(conf, browser, who)
    response = who.post(conf.meta["introspection_endpoint"], token=token)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert response.json()["client_id"] == who.client.id


def request_object_flow(conf: Conformance, browser: httpx.Client, alg: str) -> Flow:
    """A code flow whose state and nonce travel only in a request object signed with `alg`
    by a client registered for it ("none": unsigned)."""
    key = key_for(alg) if alg != "none" else None
    jwks = public_jwks(key) if key is not None else None
    client = registered(conf, key, request_object_signing_alg=alg, jwks=jwks)
    params = conf.request(CODE, client_id=client.id)
    claims = {**params, "iss": client.id, "aud": conf.meta["issuer"]}
    request = unsigned_request_object(claims) if key is None else sign(claims, key, alg)
    outer = {name: params[name] for name in ("client_id", "response_type", "scope", "redirect_uri")}
    response = conf.authorize(browser, {**outer, "request": request})
    return finish_flow(conf, CODE, params, response, client=client.credentials)


def channel_logout(
    conf: Conformance, browser: httpx.Client, channel: str, *, session: bool
) -> tuple[Flow, Received]:
    """Sign in with a client registered for `channel` logout, log out at the end session
    endpoint as a browser does, and what the client's logout URI then received."""
    assert conf.request_objects is not None  # the relying party's own server
    marker = secrets.token_hex(8)  # tells this client's logout apart from earlier ones
    metadata: dict[str, Any] = {
        f"{channel}_logout_uri": f"{conf.request_objects.url}{LOGOUT_PATHS[channel]}?rp={marker}",
        f"{channel}_logout_session_required": session,
        "post_logout_redirect_uris": [POST_LOGOUT_URI],
    }
    flow = client_flow(conf, browser, registered(conf, **metadata))
    assert flow.id_token
    page = open_end_session(conf, browser, flow.id_token)
    if channel == "frontchannel":
        check_post_logout_redirect(load_frames(page))
    else:
        check_post_logout_redirect(page.headers["location"])
    mine = conf.request_objects.wait_for(
        LOGOUT_PATHS[channel], where=lambda item: item.query.get("rp") == [marker]
    )
    return flow, mine


def emitted_claims(conf: Conformance, browser: httpx.Client) -> dict[str, Any]:
    """Everything a client can learn about the demo user: the front and back ID tokens of a
    hybrid flow asking every scope, max_age and an acr, and userinfo."""
    scope = " ".join(conf.meta["scopes_supported"])
    acr = conf.meta["acr_values_supported"][0]
    flow = run_flow(
        conf, browser, Profile("code id_token token"), scope=scope, max_age="600", acr_values=acr
    )
    _, front = conf.decode_id_token(flow.response["id_token"])
    return {**front, **returned_claims(conf, flow)}
