"""Dynamic client ids carry their sealed registration; nothing is stored."""

from __future__ import annotations

from konnect.clients import ClientRegistration, ClientRegistry
from konnect.clients.dynamic import DynamicClients
from konnect.crypto import Sealer
from tests.conftest import Clock

METADATA = ClientRegistration(
    id="",
    name="Dyn",
    redirect_uris=("https://rp.example/cb",),
    jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]},
    response_types=("code",),
    trusted=True,
)


def test_round_trip_keeps_metadata_and_never_trusts() -> None:
    clock = Clock(1_000_000.0)
    dynamic = DynamicClients(Sealer(bytes(32)), clock)
    registered = dynamic.register(METADATA, with_secret=True)
    client = registered.client
    assert client.id.startswith("dyn.")
    assert client.dynamic
    assert not client.trusted
    assert client.secret is not None
    assert client.name == "Dyn"
    assert client.jwks == METADATA.jwks
    assert client.origins == ("https://rp.example",)
    assert registered.expires_at == 0
    registry = ClientRegistry((), "https://idp.example", dynamic)
    assert registry.get(client.id) == client
    assert registry.verify_secret(client, client.secret)
    assert not registry.verify_secret(client, "guess")
    assert registry.lookup(client.id, "https://rp.example/cb") == client


def test_other_secrets_tampering_and_expiry_make_unknown_clients() -> None:
    clock = Clock(1_000_000.0)
    dynamic = DynamicClients(Sealer(bytes(32)), clock, secret_expiration=60)
    client_id = dynamic.register(METADATA, with_secret=False).client.id
    assert dynamic.get(client_id) is not None
    assert DynamicClients(Sealer(bytes(range(32))), clock).get(client_id) is None
    assert dynamic.get(client_id[:-3] + "abc") is None
    assert dynamic.get("dyn.") is None
    assert dynamic.get("dyn." + "A" * 10_000) is None
    clock.advance(61)
    assert dynamic.get(client_id) is None
    assert ClientRegistry((), "https://idp.example").get(client_id) is None
