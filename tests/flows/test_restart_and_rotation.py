"""Statelessness: a restart with the same keys and secret keeps browsers signed in and tokens
valid; a rotated signing key keeps old tokens valid through the validation keys folder."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import RunningServer, browser, free_port, sign_in
from tests.flows.test_bad_input import REDIRECT, code_request, good_params

AUTHORIZE = "/signin/v1/identifier/_/authorize"


def tokens_for(server: RunningServer, client: httpx.Client) -> dict[str, str]:
    response = client.get(
        AUTHORIZE + "?" + urlencode(good_params(prompt="none", scope="openid offline_access"))
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = httpx.post(
        server.url + "/konnect/v1/token",
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def userinfo_status(server: RunningServer, access_token: str) -> int:
    response = httpx.get(
        server.url + "/konnect/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


def test_restart_keeps_sessions_and_tokens(
    server_factory: Callable[..., RunningServer],
) -> None:
    port = free_port()
    first = server_factory(port=port)
    with browser(first.url) as client:
        assert sign_in(client, first.url).status_code == 200
        tokens = tokens_for(first, client)
        first.stop()
        second = server_factory(port=port)
        assert userinfo_status(second, tokens["access_token"]) == 200
        refreshed = httpx.post(
            second.url + "/konnect/v1/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=("trusted-app", "trusted-secret"),
        )
        assert refreshed.status_code == 200, refreshed.text
        again = tokens_for(second, client)  # the browser is still signed in
        assert userinfo_status(second, again["access_token"]) == 200


def test_rotated_key_keeps_old_tokens_valid(
    server_factory: Callable[..., RunningServer], key_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    old = server_factory(port=port)
    with browser(old.url) as client:
        assert sign_in(client, old.url).status_code == 200
        tokens = tokens_for(old, client)
    old.stop()

    validation = tmp_path / "validation"
    validation.mkdir()
    shutil.copy(key_dir / "rsa-key.pem", validation / "rsa-key.pem")
    new_key = tmp_path / "new-key.pem"
    new_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    new = server_factory(
        port=port,
        signing_private_keys=(new_key,),
        signing_method="ES256",
        validation_keys_path=validation,
    )
    kids = {key["kid"] for key in httpx.get(new.url + "/konnect/v1/jwks.json").json()["keys"]}
    assert {"rsa-key", "new-key", "default"} <= kids
    assert userinfo_status(new, tokens["access_token"]) == 200
    with browser(new.url) as client:
        assert sign_in(client, new.url).status_code == 200
        fresh = tokens_for(new, client)
    header = json.loads(base64.urlsafe_b64decode(fresh["access_token"].split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": "new-key", "typ": "JWT"}
    assert userinfo_status(new, fresh["access_token"]) == 200
