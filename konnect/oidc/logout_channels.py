"""Telling relying parties that a session ended: OpenID Connect Front-Channel Logout 1.0
(iframes in the page the browser sees on sign-out) and Back-Channel Logout 1.0 (signed logout
tokens POSTed from the server).

Sessions are stateless, so the session cookie itself remembers which clients with a logout
channel got tokens in it (a short list, newest last).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from konnect.clients import ClientRegistration
from konnect.clients.dynamic import PREFIX as DYNAMIC_CLIENT_PREFIX
from konnect.crypto import random_string
from konnect.oidc.provider import Provider
from konnect.outgoing import BACKCHANNEL_LOGOUT, FetchError

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
LOGOUT_TOKEN_LIFETIME = 120
#: Pauses before the second and third delivery attempt of a logout token.
RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0)
#: How long the sign-out page waits for the front-channel iframes before moving on.
FRONTCHANNEL_WAIT_MS = 3000
#: The session cookie remembers at most this many clients, newest last. Dynamic client ids
#: carry their whole registration, so together they get at most this many characters, and
#: they make room for each other, never at the cost of a registered client.
MAX_SESSION_CLIENTS = 8
MAX_DYNAMIC_CLIENT_CHARS = 2048


def has_logout_channel(client: ClientRegistration) -> bool:
    return bool(client.frontchannel_logout_uri or client.backchannel_logout_uri)


def _is_dynamic(client_id: str) -> bool:
    return client_id.startswith(DYNAMIC_CLIENT_PREFIX)


def _oldest_to_drop(client_ids: list[str]) -> str:
    """The oldest dynamic client, or the oldest client when all are registered."""
    return next(filter(_is_dynamic, client_ids), client_ids[0])


def remember_client(clients: tuple[str, ...], client: ClientRegistration) -> tuple[str, ...]:
    """The session's client list after `client` got tokens (only clients with a channel)."""
    if not has_logout_channel(client):
        return clients
    remembered = [*(item for item in clients if item != client.id), client.id]
    while sum(len(item) for item in remembered if _is_dynamic(item)) > MAX_DYNAMIC_CLIENT_CHARS:
        remembered.remove(next(filter(_is_dynamic, remembered)))
    while len(remembered) > MAX_SESSION_CLIENTS:
        remembered.remove(_oldest_to_drop(remembered))
    return tuple(remembered)


@dataclass(frozen=True)
class EndedSession:
    """The OIDC session a sign-out ends: its sid, the user's public sub and its clients."""

    sid: str
    subject: str
    clients: tuple[ClientRegistration, ...]


def ended_session(provider: Provider, cookies: Mapping[str, str]) -> EndedSession | None:
    """The session recorded in the browser's session cookie, None without a valid one."""
    record = provider.cookies.read_session(cookies)
    if (
        not record
        or not isinstance(record.get("id"), str)
        or not isinstance(record.get("sub"), str)
    ):
        return None
    clients = [
        provider.clients.get(client_id) for client_id in provider.cookies.session_clients(record)
    ]
    known = tuple(client for client in clients if client is not None)
    return EndedSession(record["id"], record["sub"], known)


def signed_out(
    provider: Provider, cookies: Mapping[str, str], next_url: str | None = None
) -> str | None:
    """A sign-out outside end session (the web app's sign-out button): notify the back
    channel now. Returns where the browser goes next: the page that loads the front-channel
    URIs (then `next_url` or the signed-out page), else `next_url`."""
    session = ended_session(provider, cookies)
    if session is not None:
        notify_back_channel(provider, session)
    urls = frontchannel_urls(provider, session) if session is not None else []
    if not urls:
        return next_url
    after = next_url or provider.endpoints.signed_out_url
    token = provider.cookies.seal_logout_frames(urls, after, provider.now())
    endpoints = provider.endpoints
    return endpoints.url(endpoints.logout_frames) + "?t=" + quote(token, safe="")


# -- front channel --------------------------------------------------------------------------


def frontchannel_urls(provider: Provider, session: EndedSession) -> list[str]:
    """Each client's frontchannel_logout_uri with `iss` and `sid` (§2: always sent here)."""
    urls = []
    for client in session.clients:
        if client.frontchannel_logout_uri:
            params = {"iss": provider.issuer, "sid": session.sid}
            urls.append(_with_query(client.frontchannel_logout_uri, params))
    return urls


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def frontchannel_page(urls: list[str], next_url: str, nonce: str) -> tuple[bytes, str]:
    """The sign-out page: hidden iframes for the clients, then on to `next_url` once they
    loaded (or after a few seconds). Returns the page and its Content-Security-Policy."""
    frames = "\n".join(f'<iframe hidden src="{html.escape(url)}"></iframe>' for url in urls)
    target = html.escape(next_url)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>Signing out</title></head>
<body data-next="{target}">
{frames}
<noscript><p><a href="{target}">Continue</a></p></noscript>
<script nonce="{nonce}">
(function () {{
  var next = document.body.getAttribute('data-next'), left = {len(urls)}, gone = false;
  function go() {{ if (!gone) {{ gone = true; window.location.replace(next); }} }}
  document.querySelectorAll('iframe').forEach(function (frame) {{
    frame.addEventListener('load', function () {{ if (--left <= 0) go(); }});
  }});
  setTimeout(go, {FRONTCHANNEL_WAIT_MS});
}})();
</script>
</body></html>
"""
    origins = sorted({"{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in urls})
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; frame-src {' '.join(origins)}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page.encode(), csp


# -- back channel ---------------------------------------------------------------------------


def logout_token(provider: Provider, client: ClientRegistration, session: EndedSession) -> str:
    """Back-Channel Logout §2.4: iss, aud, iat, exp, jti, events, sub and sid; never a nonce."""
    now = provider.now()
    claims = {
        "iss": provider.issuer,
        "sub": session.subject,
        "aud": client.id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": random_string(24),
        "sid": session.sid,
        "events": {BACKCHANNEL_EVENT: {}},
    }
    return provider.keys.sign(claims, client.id_token_signed_response_alg, LOGOUT_TOKEN_TYPE)


def notify_back_channel(provider: Provider, session: EndedSession) -> int:
    """Start delivering logout tokens in the background; the number of clients notified."""
    clients = [client for client in session.clients if client.backchannel_logout_uri]
    for client in clients:
        provider.background.spawn(_deliver(provider, client, session))
    return len(clients)


async def _deliver(provider: Provider, client: ClientRegistration, session: EndedSession) -> None:
    """POST the logout token, retrying network errors and 5xx answers with a pause."""
    token = await provider.signing(
        lambda: logout_token(provider, client, session), client.id_token_signed_response_alg
    )
    uri = client.backchannel_logout_uri
    outcome, attempts = "", 0
    for delay in (0.0, *RETRY_DELAYS):
        await asyncio.sleep(delay)
        attempts += 1
        try:
            status = await provider.http.post_form(
                uri, {"logout_token": token}, BACKCHANNEL_LOGOUT, public_only=client.dynamic
            )
        except FetchError as exc:
            outcome = f"unreachable ({exc})"
            continue
        if 200 <= status < 300:
            return
        outcome = f"answered {status}"
        if status < 500:
            break  # the client refused the token: asking again will not change its mind
    provider.log.warning(
        "back-channel logout of client %s at %s failed after %d attempt(s): %s",
        client.display_name[:60],
        uri,
        attempts,
        outcome,
    )
