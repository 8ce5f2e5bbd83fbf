"""A client that starts to require a second factor no longer refreshes the grants of
single-factor sign-ins: the user signs in again at the level it now asks for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml

from tests.flows.test_bad_input import AUTHORIZE, code_request, good_params
from tests.reload.conftest import Konnectd, signed_in_browser

TOKEN = "/konnect/v1/token"
TRUSTED = ("trusted-app", "trusted-secret")


def offline_tokens(url: str, client: httpx.Client) -> dict[str, str]:
    query = urlencode(good_params(prompt="none", scope="openid offline_access"))
    location = httpx.URL(client.get(AUTHORIZE + "?" + query).headers["location"])
    tokens = httpx.post(url + TOKEN, data=code_request(location.params["code"]), auth=TRUSTED)
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


def refresh(url: str, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(url + TOKEN, data=data, auth=TRUSTED)


def require_mfa(config_dir: Path, client_id: str) -> None:
    path = config_dir / "registry.yaml"
    registry = yaml.safe_load(path.read_text())
    for client in registry["clients"]:
        if client["id"] == client_id:
            client["mfa"] = "required"
    aside = path.with_suffix(".new")
    aside.write_text(yaml.safe_dump(registry))
    aside.replace(path)


def test_a_refresh_below_what_the_client_now_requires_is_refused(
    start_konnectd: Callable[..., Konnectd], config_dir: Path
) -> None:
    server = start_konnectd(1, "mfa = optional")
    with signed_in_browser(server.url) as client:
        first = offline_tokens(server.url, client)
    assert first["refresh_token"]
    again = refresh(server.url, first["refresh_token"])
    assert again.status_code == 200, again.text
    require_mfa(config_dir, "trusted-app")
    server.reload()
    refused = refresh(server.url, again.json()["refresh_token"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
