"""A complete authorization as the conformance suite runs it: request, sign-in, response
checks, code exchange and every ID token check, for any response type and mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conformance.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Assertion,
    Conformance,
    Profile,
    Response,
)


@dataclass
class Flow:
    """What one authorization produced, with the ID token claims already validated."""

    response: Response
    id_token: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    access_token: str | None = None
    refresh_token: str | None = None
    token_response: dict[str, Any] = field(default_factory=dict)


def run_flow(
    conf: Conformance,
    browser: httpx.Client,
    profile: Profile,
    *,
    method: str = "GET",
    expect_login: bool | None = None,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
    post_auth: bool = False,
    assertion: Assertion | None = None,
    **changes: str,
) -> Flow:
    params = conf.request(profile, client_id=client[0], **changes)
    response = conf.authorize(browser, params, method=method, expect_login=expect_login)
    return finish_flow(
        conf, profile, params, response, client=client, post_auth=post_auth, assertion=assertion
    )


def finish_flow(
    conf: Conformance,
    profile: Profile,
    params: dict[str, str],
    response: Response,
    *,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
    post_auth: bool = False,
    assertion: Assertion | None = None,
) -> Flow:
    assert "error" not in response.params, response.params
    conf.check_channel(profile, response)
    assert response.get("state") == params.get("state")
    nonce = params.get("nonce")
    max_age = int(params["max_age"]) if "max_age" in params else None
    flow = Flow(response)
    if profile.front_access_token:
        assert response["token_type"].lower() == "bearer"
        flow.access_token = response["access_token"]
    if profile.front_id_token:
        flow.id_token = response["id_token"]
        flow.claims = conf.validate_id_token(
            flow.id_token,
            client_id=client[0],
            nonce=nonce,
            code=response.get("code") if profile.has_code else None,
            access_token=flow.access_token,
            max_age=max_age,
        )
        if profile.has_code:
            assert "c_hash" in flow.claims
        if flow.access_token:
            assert "at_hash" in flow.claims
    if profile.has_code:
        exchange(
            conf,
            flow,
            client=client,
            post_auth=post_auth,
            nonce=nonce,
            max_age=max_age,
            assertion=assertion,
            redirect_uri=params.get("redirect_uri", REDIRECT_URI),
        )
    return flow


def exchange(
    conf: Conformance,
    flow: Flow,
    *,
    client: tuple[str, str],
    post_auth: bool,
    nonce: str | None,
    max_age: int | None,
    assertion: Assertion | None = None,
    redirect_uri: str = REDIRECT_URI,
) -> None:
    answer = conf.token(
        flow.response["code"],
        client=client,
        post=post_auth,
        assertion=assertion,
        redirect_uri=redirect_uri,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert "no-store" in answer.headers.get("cache-control", "")
    body = answer.json()
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int)
    claims = conf.validate_id_token(
        body["id_token"], client_id=client[0], nonce=nonce, max_age=max_age
    )
    if flow.claims:  # hybrid: both ID tokens describe the same authentication
        assert claims["sub"] == flow.claims["sub"]
        assert claims["iss"] == flow.claims["iss"]
    flow.id_token, flow.claims = body["id_token"], claims
    flow.access_token = body["access_token"]
    flow.refresh_token = body.get("refresh_token")
    flow.token_response = body
