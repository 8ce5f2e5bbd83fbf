"""The real `konnectd serve` process on a loopback port: start, sign in, get tokens, stop."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import browser, sign_in
from tests.flows.test_bad_input import REDIRECT, code_request, good_params


def test_real_process_signs_in_and_issues_tokens(konnectd: tuple[str, list[str]]) -> None:
    url, _ = konnectd
    discovery = httpx.get(url + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == url
    with browser(url) as client:
        assert sign_in(client, url).status_code == 200
        response = client.get(
            "/signin/v1/identifier/_/authorize?" + urlencode(good_params(prompt="none"))
        )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = httpx.post(
        discovery["token_endpoint"],
        data=code_request(code),
        auth=("trusted-app", "trusted-secret"),
    )
    assert tokens.status_code == 200, tokens.text
    userinfo = httpx.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": "Bearer " + tokens.json()["access_token"]},
    )
    assert userinfo.json()["preferred_username"] == "jonas"
