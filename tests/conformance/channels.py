"""Shared steps of the Front-Channel and Back-Channel Logout OP plans: a konnect with a client
registered (statically, as the suite allows) with a logout URI on the relying party's own
loopback server, the discovery checks, and the checks of the post-logout redirect."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conformance.discovery import fetch_document
from tests.conformance.harness import (
    POST_LOGOUT_URI,
    REDIRECT_URI,
    Conformance,
    start_conformance,
)
from tests.conformance.receiver import Receiver

CHANNEL_CLIENT_ID = "conformance-logout"
CHANNEL_CLIENT_SECRET = "conformance-logout-secret"
CHANNEL_CLIENT = (CHANNEL_CLIENT_ID, CHANNEL_CLIENT_SECRET)
LOGOUT_STATE = "logout-state"


def channel_client(channel: str, uri: str) -> str:
    """A registry entry for the plan's client, with `<channel>_logout_uri` and session
    required (the suite's client registers both)."""
    return f"""
  - id: {CHANNEL_CLIENT_ID}
    name: Conformance logout
    secret: {CHANNEL_CLIENT_SECRET}
    trusted: yes
    application_type: native
    redirect_uris: [{REDIRECT_URI}]
    post_logout_redirect_uris: [{POST_LOGOUT_URI}]
    id_token_signed_response_alg: RS256
    {channel}_logout_uri: {uri}
    {channel}_logout_session_required: yes
"""


def start_with_channel(
    folder: Path, channel: str, path: str
) -> Iterator[tuple[Conformance, Receiver]]:
    receiver = Receiver()
    conformance, server = start_conformance(folder, channel_client(channel, receiver.url + path))
    yield conformance, receiver
    server.stop()
    receiver.stop()


def check_logout_discovery(conf: Conformance, channel: str) -> None:
    """oidcc-{front,back}channel-logout-discovery-endpoint-verification: the channel and its
    session (sid) support are advertised, and there is an end session endpoint."""
    _, meta = fetch_document(conf.url)
    scheme = urlsplit(meta["issuer"]).scheme
    for name, value in meta.items():
        if name.endswith(("_endpoint", "_uri", "_iframe")):
            assert urlsplit(value).scheme == scheme, name
    assert meta[f"{channel}_logout_supported"] is True
    assert meta[f"{channel}_logout_session_supported"] is True
    end_session = urlsplit(meta["end_session_endpoint"])
    assert end_session.scheme == scheme
    assert end_session.netloc


def check_post_logout_redirect(location: str) -> None:
    """CheckPostLogoutState and CheckForUnexpectedParametersInPostLogoutRedirect."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == POST_LOGOUT_URI
    assert parse_qs(parts.query) == {"state": [LOGOUT_STATE]}
    assert not parts.fragment


def end_session_request(id_token: str) -> dict[str, str]:
    return {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": POST_LOGOUT_URI,
        "state": LOGOUT_STATE,
    }


def open_end_session(conf: Conformance, browser: httpx.Client, id_token: str) -> httpx.Response:
    return browser.get(conf.meta["end_session_endpoint"], params=end_session_request(id_token))


def load_frames(page: httpx.Response) -> str:
    """What a browser does with the sign-out page: load every iframe, then go on to the
    page's next address (its script does so once the frames loaded)."""
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    frames = [html.unescape(src) for src in re.findall(r'<iframe hidden src="([^"]+)"', page.text)]
    assert frames
    for frame in frames:
        assert httpx.get(frame).status_code == 200
    [target] = re.findall(r'data-next="([^"]+)"', page.text)
    return html.unescape(target)


def verified_logout_token(conf: Conformance, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """ValidateLogoutTokenSignature: signed with a key of the OP's JWKS, never alg none."""
    header, claims = conf.verify_jwt(token)
    assert header["alg"] in conf.meta["id_token_signing_alg_values_supported"]
    return header, claims
