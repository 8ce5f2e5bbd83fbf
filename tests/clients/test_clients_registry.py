"""ClientRegistry lookups: registered clients, origins, issuer-host trust, secrets, logout URIs."""

from __future__ import annotations

import pytest

from konnect.clients import ClientLookupError, ClientRegistration, ClientRegistry

ISSUER = "https://idp.example.com"

WEB = ClientRegistration(
    id="web",
    secret="s3cret",
    name="Web App",
    redirect_uris=("https://app.example.com/cb",),
    post_logout_redirect_uris=("https://app.example.com/bye",),
)
NATIVE = ClientRegistration(
    id="native", application_type="native", redirect_uris=("http://localhost/cb",)
)
ON_ISSUER_HOST = ClientRegistration(id="portal", redirect_uris=("https://idp.example.com/portal/",))
INSECURE = ClientRegistration(id="dev", insecure=True, trusted=True)


@pytest.fixture
def registry() -> ClientRegistry:
    return ClientRegistry([WEB, NATIVE, ON_ISSUER_HOST, INSECURE], ISSUER)


def lookup_error(registry: ClientRegistry, *args: str | None) -> str:
    with pytest.raises(ClientLookupError) as caught:
        registry.lookup(*args)  # type: ignore[arg-type]
    return str(caught.value)


def test_registered_client_is_returned(registry: ClientRegistry) -> None:
    client = registry.lookup("web", "https://app.example.com/cb?x=1")
    assert client.id == "web"
    assert not client.trusted
    assert not client.implicit
    assert client.display_name == "Web App"


def test_unregistered_redirect_uri_is_refused(registry: ClientRegistry) -> None:
    message = lookup_error(registry, "web", "https://app.example.com/other")
    assert message == "redirect_uri not registered for this client"


def test_fragment_is_refused_with_its_own_message(registry: ClientRegistry) -> None:
    message = lookup_error(registry, "web", "https://app.example.com/cb#x")
    assert message == "redirect_uri must not contain a fragment"


def test_redirect_uri_none_skips_the_redirect_check(registry: ClientRegistry) -> None:
    assert registry.lookup("web", None).id == "web"


def test_empty_redirect_uri_is_checked_not_skipped(registry: ClientRegistry) -> None:
    assert lookup_error(registry, "web", "") == "redirect_uri not registered for this client"


def test_default_origin_comes_from_the_first_redirect_uri(registry: ClientRegistry) -> None:
    client = registry.get("web")
    assert client is not None
    assert client.origins == ("https://app.example.com",)


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "http://app.example.com", "https://app.example.com:444"]
)
def test_web_client_refuses_other_origins(registry: ClientRegistry, origin: str) -> None:
    message = lookup_error(registry, "web", "https://app.example.com/cb", origin)
    assert message == "origin not allowed"


def test_web_client_accepts_its_origin_or_none(registry: ClientRegistry) -> None:
    uri = "https://app.example.com/cb"
    assert registry.lookup("web", uri, "https://app.example.com").id == "web"
    assert registry.lookup("web", uri, "").id == "web"
    assert registry.lookup("web", uri, None).id == "web"


def test_explicit_origins_replace_the_default() -> None:
    client = ClientRegistration(
        id="spa", redirect_uris=("https://app.example.com/cb",), origins=("https://ui.example.com",)
    )
    registry = ClientRegistry([client], ISSUER)
    uri = "https://app.example.com/cb"
    assert registry.lookup("spa", uri, "https://ui.example.com").id == "spa"
    assert lookup_error(registry, "spa", uri, "https://app.example.com") == "origin not allowed"


def test_native_client_ignores_origin(registry: ClientRegistry) -> None:
    client = registry.lookup("native", "http://127.0.0.1:5555/cb", "https://anything.example")
    assert client.id == "native"


def test_insecure_client_without_redirect_uris_or_origins(registry: ClientRegistry) -> None:
    client = registry.lookup("dev", "http://dev.example.net:3000/cb", "http://dev.example.net:3000")
    assert client.id == "dev"
    assert client.trusted
    assert client.origins == ()


@pytest.fixture
def with_issuer_host_clients() -> ClientRegistry:
    return ClientRegistry([ON_ISSUER_HOST], ISSUER, issuer_host_clients=True)


def test_unknown_client_on_issuer_host_is_refused_by_default(registry: ClientRegistry) -> None:
    assert lookup_error(registry, "whatever", "https://idp.example.com/cb") == "unknown client_id"


@pytest.mark.parametrize(
    ("redirect_uri", "origin"),
    [
        ("https://idp.example.com/some/app/cb", None),
        ("https://idp.example.com:443/cb", None),
        ("https://IDP.example.com/cb?x=1", "https://idp.example.com"),
    ],
)
def test_enabled_issuer_host_clients_are_accepted_and_never_trusted(
    with_issuer_host_clients: ClientRegistry, redirect_uri: str, origin: str | None
) -> None:
    client = with_issuer_host_clients.lookup("whatever", redirect_uri, origin)
    assert client == ClientRegistration(id="whatever", implicit=True)
    assert not client.trusted
    assert not client.verified
    assert with_issuer_host_clients.get("whatever") is None


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://idp.example.com/signin/v1/identifier/_/authorize",
        "https://idp.example.com/signin/v1/identifier/_/endsession",
        "https://idp.example.com/konnect/v1/token",
        "https://idp.example.com/.well-known/openid-configuration",
        "https://idp.example.com/signin",
        "https://idp.example.com/app/../signin/v1/identifier",
        "https://idp.example.com//signin/v1/identifier",
        "https://idp.example.com/%73ignin/v1/identifier",
        "https://idp.example.com/signin%2Fv1%2Fidentifier",
        "https://idp.example.com/signin%252Fv1",
        "https://idp.example.com/SIGNIN/v1/identifier",
        "https://idp.example.com./signin/v1/identifier",
        "https://idp.example.com:443/konnect/v1/jwks.json",
    ],
)
def test_no_client_may_redirect_into_konnect(
    with_issuer_host_clients: ClientRegistry, redirect_uri: str
) -> None:
    message = lookup_error(with_issuer_host_clients, "whatever", redirect_uri)
    assert message == "redirect_uri must not lead back into this provider"
    insecure = ClientRegistry([INSECURE], ISSUER)
    message = lookup_error(insecure, "dev", redirect_uri)
    assert message == "redirect_uri must not lead back into this provider"


def test_a_loopback_issuer_is_reached_under_every_loopback_name() -> None:
    native = ClientRegistration(
        id="app", application_type="native", redirect_uris=("http://localhost",)
    )
    registry = ClientRegistry([native], "http://127.0.0.1:8777")
    assert lookup_error(registry, "app", "http://localhost:8777/signin/v1/identifier") == (
        "redirect_uri must not lead back into this provider"
    )
    assert registry.lookup("app", "http://localhost:9000/signin/v1/identifier").id == "app"


def test_konnect_paths_under_the_base_path_are_konnect_too() -> None:
    registry = ClientRegistry([INSECURE], ISSUER, base_path="/idp")
    assert registry.points_at_konnect("https://idp.example.com/idp/signin/v1/identifier")
    assert registry.points_at_konnect("https://idp.example.com/signin/v1/identifier")
    assert not registry.points_at_konnect("https://idp.example.com/idp/app/")
    assert not registry.points_at_konnect("https://app.example.com/signin/v1/identifier")


@pytest.mark.parametrize(
    "redirect_uri",
    ["javascript://x/%0Aalert(1)", "data://x/text/html,hi", "vbscript://x/y", "file://x/etc"],
)
def test_script_schemes_never_match(redirect_uri: str) -> None:
    insecure = ClientRegistry([INSECURE], ISSUER)
    assert lookup_error(insecure, "dev", redirect_uri) == (
        "redirect_uri not registered for this client"
    )


@pytest.mark.parametrize(
    ("redirect_uri", "origin"),
    [
        ("https://app.example.com/cb", None),
        ("https://idp.example.com:8443/cb", None),
        ("http://idp.example.com/cb", None),
        ("https://idp.example.com.evil.net/cb", None),
        ("https://idp.example.com@evil.net/cb", None),
        ("https://user@idp.example.com/cb", None),
        ("https://idp.example.com/cb", "https://evil.example.com"),
        ("https://idp.example.com/cb", "null"),
        (None, None),
    ],
)
def test_unknown_client_elsewhere_is_refused(
    registry: ClientRegistry, redirect_uri: str | None, origin: str | None
) -> None:
    assert lookup_error(registry, "whatever", redirect_uri, origin) == "unknown client_id"


def test_dynamic_prefix_is_never_an_issuer_host_client(
    with_issuer_host_clients: ClientRegistry,
) -> None:
    message = lookup_error(
        with_issuer_host_clients, "dyn.not-a-token", "https://idp.example.com/cb"
    )
    assert message == "unknown client_id"


def test_registered_client_on_issuer_host_keeps_its_own_trust(registry: ClientRegistry) -> None:
    client = registry.lookup("portal", "https://idp.example.com/portal/")
    assert not client.trusted
    assert not client.implicit
    assert lookup_error(registry, "portal", "https://idp.example.com/elsewhere") == (
        "redirect_uri not registered for this client"
    )


def test_issuer_with_port_needs_the_same_port() -> None:
    registry = ClientRegistry([], "http://127.0.0.1:8777", issuer_host_clients=True)
    assert registry.lookup("rp", "http://127.0.0.1:8777/cb").implicit
    assert lookup_error(registry, "rp", "http://127.0.0.1:8778/cb") == "unknown client_id"
    assert lookup_error(registry, "rp", "http://localhost:8777/cb") == "unknown client_id"


@pytest.mark.parametrize("client_id", ["", "a", "ab", "dyn", "dyn.", "d"])
def test_empty_and_short_client_ids_give_errors_not_crashes(client_id: str) -> None:
    registry = ClientRegistry([WEB], ISSUER)
    message = lookup_error(registry, client_id, "https://app.example.com/cb")
    assert message == ("client_id is missing" if not client_id else "unknown client_id")
    assert registry.get(client_id) is None


def test_short_client_id_can_be_registered() -> None:
    client = ClientRegistration(id="x", redirect_uris=("https://app.example.com/cb",))
    registry = ClientRegistry([client], ISSUER)
    assert registry.lookup("x", "https://app.example.com/cb").id == "x"


def test_verify_secret(registry: ClientRegistry) -> None:
    assert registry.verify_secret(WEB, "s3cret")
    assert not registry.verify_secret(WEB, "s3cret ")
    assert not registry.verify_secret(WEB, "")
    assert not registry.verify_secret(WEB, None)
    assert not registry.verify_secret(WEB, "s3crët")


def test_public_client_accepts_any_or_no_secret(registry: ClientRegistry) -> None:
    assert NATIVE.is_public
    assert registry.verify_secret(NATIVE, None)
    assert registry.verify_secret(NATIVE, "anything")


def test_non_ascii_secret_compares_as_utf8() -> None:
    client = ClientRegistration(id="u", secret="pässwörd")
    registry = ClientRegistry([client], ISSUER)
    assert registry.verify_secret(client, "pässwörd")
    assert not registry.verify_secret(client, "passwoerd")


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://app.example.com/bye", True),
        ("https://app.example.com/cb", True),
        ("https://app.example.com/cb?from=logout", True),
        ("https://app.example.com/bye?x=1", False),
        ("https://app.example.com/bye#x", False),
        ("https://evil.example.com/bye", False),
        ("", False),
    ],
)
def test_post_logout_redirect(registry: ClientRegistry, uri: str, allowed: bool) -> None:
    assert registry.post_logout_redirect_allowed(WEB, uri) is allowed


def test_post_logout_redirect_for_implicit_client_stays_on_issuer_host(
    with_issuer_host_clients: ClientRegistry,
) -> None:
    registry = with_issuer_host_clients
    implicit = registry.lookup("rp", "https://idp.example.com/app/")
    assert registry.post_logout_redirect_allowed(implicit, "https://idp.example.com/bye")
    assert not registry.post_logout_redirect_allowed(implicit, "https://app.example.com/bye")
    konnect = "https://idp.example.com/signin/v1/identifier/_/authorize"
    assert not registry.post_logout_redirect_allowed(implicit, konnect)


def test_iteration_and_length(registry: ClientRegistry) -> None:
    assert len(registry) == 4
    assert [client.id for client in registry] == ["web", "native", "portal", "dev"]


def test_duplicate_ids_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        ClientRegistry([WEB, WEB], ISSUER)


def test_registrations_with_jwks_stay_hashable() -> None:
    client = ClientRegistration(id="k", jwks={"keys": [{"kty": "EC"}]})
    assert hash(client) == hash(ClientRegistration(id="k", jwks={"keys": []}))
