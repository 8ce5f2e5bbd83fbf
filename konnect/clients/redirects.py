"""Redirect URI and origin rules: what a registration may list, and what a request may use."""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import replace
from urllib.parse import SplitResult, unquote, urlsplit

from konnect.clients.metadata import EntryProblem
from konnect.clients.model import NATIVE, WEB, ClientRegistration

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Schemes that run script or show local data in the browser instead of opening an app.
UNSAFE_SCHEMES = frozenset(
    {"javascript", "data", "vbscript", "blob", "file", "filesystem", "about", "view-source"}
)
#: Where konnect itself answers, with and without the base path.
OWN_PATHS = ("/konnect", "/signin", "/.well-known", "/health-check")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def parse_uri(uri: str) -> SplitResult | None:
    """The parts of an absolute URI with a host, or None for anything else."""
    if _CONTROL_OR_SPACE.search(uri):
        # urlsplit silently drops some of these, which would let a URI match another.
        return None
    try:
        parts = urlsplit(uri)
        _ = parts.port  # urlsplit only checks the port when it is read
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts


def is_loopback_http(parts: SplitResult) -> bool:
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def origin_of(parts: SplitResult) -> str:
    """`scheme://host[:port]` as a browser sends it in an Origin header."""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def same_authority(left: SplitResult, right: SplitResult) -> bool:
    """Same scheme, host and port (a missing port means the scheme's default)."""
    if left.username is not None or right.username is not None:
        return False
    return (left.scheme, _host(left), _port(left)) == (right.scheme, _host(right), _port(right))


def _host(parts: SplitResult) -> str:
    """The host name as a browser resolves it ("idp.example.com." is "idp.example.com")."""
    return (parts.hostname or "").rstrip(".")


def _port(parts: SplitResult) -> int | None:
    return parts.port if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme)


def is_reverse_dns_scheme(scheme: str) -> bool:
    """A native app's private scheme named after a domain it owns (RFC 8252 §7.1)."""
    return re.fullmatch(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+", scheme) is not None


def is_own_path(path: str, base_path: str) -> bool:
    """Whether `path` reaches one of konnect's own pages, however it is spelled."""
    for _ in range(3):  # %252F and the like: proxies may decode more than once
        path = unquote(path)
    path = re.sub(r"/+", "/", "/" + path.replace("\\", "/"))
    normalized = posixpath.normpath(path).lower()
    return any(
        normalized == prefix or normalized.startswith(prefix + "/")
        for prefix in _own_prefixes(base_path)
    )


@functools.lru_cache(maxsize=8)
def _own_prefixes(base_path: str) -> frozenset[str]:
    return frozenset({*OWN_PATHS, *(base_path.lower() + prefix for prefix in OWN_PATHS)})


# -- request time -----------------------------------------------------------------------------


def redirect_uri_matches(client: ClientRegistration, requested: str) -> bool:
    """Whether `requested` is one of the client's redirect URIs (reference §5.3).

    Web clients and non-loopback native URIs: exact match against `scheme://host/path` of the
    requested URI, so a query is ignored (as Konnect does for its registry) and a trailing
    slash matters; dynamically registered clients get the exact string match of OpenID
    Connect Core 3.1.2.1, query included. Native
    `http` loopback URIs: any loopback host, any port, same path (any path when the registered
    one has none). A fragment is never accepted (RFC 6749 §3.1.2).
    """
    parts = parse_uri(requested)
    if parts is None or "#" in requested or parts.username is not None:
        return False
    if parts.scheme in UNSAFE_SCHEMES:
        return False
    if client.insecure and not client.redirect_uris:
        return True
    return any(
        _matches(client, registered, requested, parts) for registered in client.redirect_uris
    )


def _matches(
    client: ClientRegistration, registered: str, requested: str, parts: SplitResult
) -> bool:
    registered_parts = parse_uri(registered)
    if registered_parts is None:
        return False
    if client.application_type == NATIVE and is_loopback_http(registered_parts):
        if not is_loopback_http(parts):
            return False
        return registered_parts.path in ("", parts.path)
    if registered_parts.query or client.dynamic:
        # Konnect could never match registered queries; RFC 6749 §3.1.2 allows them.
        return registered == requested
    return registered == f"{parts.scheme}://{parts.netloc}{parts.path}"


def origin_allowed(client: ClientRegistration, origin: str) -> bool:
    """Web clients: the origin must be listed, unless insecure without any origins."""
    if client.application_type != WEB or (client.insecure and not client.origins):
        return True
    return origin in client.origins


# -- load time --------------------------------------------------------------------------------


def with_default_origin(client: ClientRegistration) -> ClientRegistration:
    """A web client without origins gets the origin of its first redirect URI."""
    if client.application_type != WEB or client.origins or not client.redirect_uris:
        return client
    parts = parse_uri(client.redirect_uris[0])
    return replace(client, origins=(origin_of(parts),)) if parts else client


def registration_problems(
    client: ClientRegistration, *, self_registered: bool = False
) -> list[EntryProblem]:
    """What is wrong with the client's redirect URIs, origins and logout URIs.

    A client that registers itself (`self_registered`) is held to stricter rules for the
    URIs konnect sends browsers to: see `_self_registered_reasons`.
    """
    problems = []
    for index, uri in enumerate(client.redirect_uris):
        reasons = _redirect_uri_reasons(client, uri)
        if self_registered:
            reasons += _self_registered_reasons(client, uri)
        for reason in reasons:
            problems.append(EntryProblem(f"redirect URI {uri!r} {reason}", "redirect_uris", index))
    for index, uri in enumerate(client.post_logout_redirect_uris):
        reasons = _absolute_uri_reasons(uri)
        if self_registered:
            reasons += _redirect_uri_reasons(client, uri) + _self_registered_reasons(client, uri)
        for reason in dict.fromkeys(reasons):
            problems.append(
                EntryProblem(
                    f"post logout URI {uri!r} {reason}", "post_logout_redirect_uris", index
                )
            )
    for key in ("frontchannel_logout_uri", "backchannel_logout_uri", "jwks_uri"):
        problems.extend(EntryProblem(reason, key) for reason in web_uri_reasons(key, client))
    for index, origin in enumerate(client.origins):
        if not _is_origin(origin):
            reason = f"origin {origin!r} must be scheme://host[:port] with nothing after it"
            problems.append(EntryProblem(reason, "origins", index))
    return problems


def _absolute_uri_reasons(uri: str) -> list[str]:
    parts = parse_uri(uri)
    if parts is None:
        return ["is not an absolute URI with a host"]
    reasons = []
    if "#" in uri:
        reasons.append("must not have a fragment")
    if parts.username is not None:
        reasons.append("must not have user information")
    if parts.scheme in UNSAFE_SCHEMES:
        reasons.append(f"must not use the {parts.scheme}: scheme")
    return reasons


def _self_registered_reasons(client: ClientRegistration, uri: str) -> list[str]:
    """A native app's private scheme must be a reverse domain name (RFC 8252 §7.1), never a
    bare word like `app:` that another app may claim too; web apps use https anyway."""
    parts = parse_uri(uri)
    if client.application_type != NATIVE or parts is None or parts.scheme in ("https", "http"):
        return []
    if is_reverse_dns_scheme(parts.scheme):
        return []
    return ["must use http on a loopback host or a reverse domain name scheme (native)"]


def web_uri_reasons(key: str, client: ClientRegistration) -> list[str]:
    """Logout URIs and jwks_uri: absolute http(s) URIs without a fragment."""
    uri = getattr(client, key)
    if not uri:
        return []
    reasons = [f"{key} {uri!r} {reason}" for reason in _absolute_uri_reasons(uri)]
    if not uri.startswith(("https://", "http://")):
        reasons.append(f"{key} {uri!r} must be an http(s) URI")
    return reasons


def _redirect_uri_reasons(client: ClientRegistration, uri: str) -> list[str]:
    reasons = _absolute_uri_reasons(uri)
    parts = parse_uri(uri)
    if parts is None:
        return reasons
    if client.application_type == WEB:
        if parts.scheme != "https" and not client.insecure:
            reasons.append("must use https (or set insecure: yes)")
        if is_loopback_http(parts):
            reasons.append("is http on a loopback host, which needs application_type: native")
    elif client.application_type == NATIVE:
        if parts.scheme == "https":
            reasons.append("must not use https when application_type is native")
        elif parts.scheme == "http" and not is_loopback_http(parts):
            reasons.append("may use http only with localhost, 127.0.0.1 or [::1] (native)")
    return reasons


def _is_origin(origin: str) -> bool:
    parts = parse_uri(origin)
    return (
        parts is not None
        and parts.username is None
        and not parts.path
        and not parts.query
        and not parts.fragment
        and "#" not in origin
        and "?" not in origin
    )
