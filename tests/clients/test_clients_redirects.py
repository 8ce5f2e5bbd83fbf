"""Redirect URI and origin matching (reference §5.3), including both upstream test tables."""

from __future__ import annotations

import pytest

from konnect.clients import ClientRegistration, redirect_uri_matches

NATIVE_FIRST = ClientRegistration(
    id="native",
    secret="secret",
    application_type="native",
    redirect_uris=(
        "http://localhost",
        "http://localhost/callback",
        "custom://callback.example.net",
        "http://host-with-port:1234/callback",
    ),
)

NATIVE_SECOND = ClientRegistration(
    id="native",
    secret="secret",
    application_type="native",
    redirect_uris=("http://localhost/callback", "http://localhost/other-callback"),
)

WEB = ClientRegistration(
    id="web",
    redirect_uris=("https://app.example.com/cb", "https://app.example.com/slash/"),
    origins=("https://app.example.com",),
)


@pytest.mark.parametrize(
    ("requested", "accepted"),
    [
        ("http://localhost:12345", True),
        ("http://localhost:12345/callback", True),
        ("http://127.0.0.1:12345/callback", True),
        ("http://192.168.88.4:8080/callback", False),
        ("http://[::1]:12345/callback", True),
        ("http://localhost", True),
        ("custom://callback.example.net", True),
        ("http://localhost:12345/other-callback", True),
        ("http://localhost.example.net/callback", False),
        ("http://host-with-port:1234/callback", True),
        ("http://host-with-port:123/callback", False),
        ("https://localhost:123/callback", False),
    ],
)
def test_native_table_with_empty_path_loopback(requested: str, accepted: bool) -> None:
    assert redirect_uri_matches(NATIVE_FIRST, requested) is accepted


@pytest.mark.parametrize(
    ("requested", "accepted"),
    [
        ("http://localhost:12345/callback", True),
        ("http://127.0.0.1:12345/callback", True),
        ("http://[::1]:12345/callback", True),
        ("http://localhost/other-callback", True),
        ("http://127.0.0.1/other-callback", True),
        ("http://[::1]/other-callback", True),
        ("http://localhost:8080/other-callback", True),
        ("http://localhost:12345", False),
        ("http://localhost", False),
        ("custom://callback.example.net", False),
        ("http://localhost:12345/callback-disallowed", False),
        ("http://localhost.example.net/callback", False),
        ("http://host-with-port:1234/callback", False),
        ("http://host-with-port:123/callback", False),
        ("https://localhost:123/callback", False),
        ("http://10.0.0.1/other-callback", False),
    ],
)
def test_native_table_with_paths(requested: str, accepted: bool) -> None:
    assert redirect_uri_matches(NATIVE_SECOND, requested) is accepted


@pytest.mark.parametrize(
    ("requested", "accepted"),
    [
        ("https://app.example.com/cb", True),
        ("https://app.example.com/cb/", False),
        ("https://app.example.com/slash/", True),
        ("https://app.example.com/slash", False),
        ("https://app.example.com/cb?state=1&x=2", True),
        ("https://app.example.com/slash/?x=1", True),
        ("http://app.example.com/cb", False),
        ("https://app.example.com:8443/cb", False),
        ("https://other.example.com/cb", False),
        ("https://app.example.com/cb/more", False),
        ("https://app.example.com", False),
    ],
)
def test_web_exact_match_ignores_only_the_query(requested: str, accepted: bool) -> None:
    assert redirect_uri_matches(WEB, requested) is accepted


@pytest.mark.parametrize(
    "requested",
    [
        "https://app.example.com/cb#frag",
        "https://app.example.com/cb#",
        "https://app.example.com/cb?x=1#frag",
    ],
)
def test_fragment_is_never_accepted(requested: str) -> None:
    assert not redirect_uri_matches(WEB, requested)


@pytest.mark.parametrize(
    "requested",
    [
        "",
        "/cb",
        "app.example.com/cb",
        "https://",
        "https://[::1",
        "https://app.example.com:99999/cb",
        "https://app.example.com/c\nb",
        "https://app.example.com/c b",
        "https://user@app.example.com/cb",
    ],
)
def test_malformed_requested_uris_never_match(requested: str) -> None:
    assert not redirect_uri_matches(WEB, requested)


def test_loopback_rule_is_for_native_clients_only() -> None:
    web = ClientRegistration(id="web", insecure=True, redirect_uris=("http://localhost/cb",))
    assert redirect_uri_matches(web, "http://localhost/cb")
    assert not redirect_uri_matches(web, "http://localhost:8080/cb")
    assert not redirect_uri_matches(web, "http://127.0.0.1/cb")


def test_registered_uri_with_query_needs_the_same_query() -> None:
    client = ClientRegistration(id="q", redirect_uris=("https://app.example.com/cb?tenant=a",))
    assert redirect_uri_matches(client, "https://app.example.com/cb?tenant=a")
    assert not redirect_uri_matches(client, "https://app.example.com/cb?tenant=b")
    assert not redirect_uri_matches(client, "https://app.example.com/cb")


def test_insecure_client_without_redirect_uris_accepts_any_absolute_uri() -> None:
    client = ClientRegistration(id="dev", insecure=True)
    assert redirect_uri_matches(client, "http://anywhere.example.net:8080/x")
    assert not redirect_uri_matches(client, "http://anywhere.example.net/x#f")
    assert not redirect_uri_matches(client, "not a uri")


def test_client_without_redirect_uris_accepts_nothing() -> None:
    assert not redirect_uri_matches(ClientRegistration(id="none"), "https://app.example.com/cb")
