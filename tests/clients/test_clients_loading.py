"""Loading the YAML registry: accepted forms, and every problem reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from konnect.clients import ClientLookupError, ClientRegistry, load_registry
from konnect.config.errors import ConfigError

ISSUER = "https://idp.example.com"
EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "identifier-registration.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> ClientRegistry:
    return load_registry(write(tmp_path, text), ISSUER)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_registry(path, ISSUER)
    prefix = f"{path}:"
    assert all(problem.startswith(prefix) for problem in caught.value.problems)
    return [problem.removeprefix(prefix) for problem in caught.value.problems]


def test_no_file_means_no_clients() -> None:
    registry = load_registry(None, ISSUER)
    assert len(registry) == 0
    with pytest.raises(ClientLookupError):
        registry.lookup("rp", "https://idp.example.com/cb")
    enabled = load_registry(None, ISSUER, issuer_host_clients=True)
    assert enabled.lookup("rp", "https://idp.example.com/cb").implicit


def test_redirect_uris_into_konnect_stop_startup(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
clients:
  - id: loop
    redirect_uris: [https://idp.example.com/signin/v1/identifier/_/authorize]
""",
    )
    assert found == [
        " client 'loop': 'https://idp.example.com/signin/v1/identifier/_/authorize'"
        " must not lead back into this provider"
    ]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "clients:\n", "authorities: []\n"])
def test_empty_registries_load(tmp_path: Path, text: str) -> None:
    assert len(load(tmp_path, text)) == 0


def test_authorities_are_kept_with_their_place(tmp_path: Path) -> None:
    registry = load(
        tmp_path,
        """clients: []
authorities:
  - name: Upstream OIDC
    authority_type: oidc
  - id: saml-idp
    name: SAML IdP
    authority_type: saml2
  - authority_type: oidc
""",
    )
    path = tmp_path / "registry.yaml"
    assert registry.warnings == ()
    assert registry.authority_entries == (
        (f"{path}:3", {"name": "Upstream OIDC", "authority_type": "oidc"}),
        (f"{path}:5", {"id": "saml-idp", "name": "SAML IdP", "authority_type": "saml2"}),
        (f"{path}:8", {"authority_type": "oidc"}),
    )
    assert load(tmp_path, "authorities: []\n").warnings == ()


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as caught:
        load_registry(path, ISSUER)
    assert caught.value.problems[0].startswith(f"{path}: cannot read the client registry")


def test_full_entry_is_read(tmp_path: Path) -> None:
    registry = load(
        tmp_path,
        """
clients:
  - id: meet
    name: Meet
    secret: "0123"
    trusted: yes
    insecure: no
    trusted_scopes: [konnect/guestok, kopano/kwm]
    application_type: web
    redirect_uris: [https://meet.example.com/meet/]
    origins: [https://meet.example.com, https://other.example.com:8443]
    jwks: {keys: [{kty: EC, crv: P-256, x: "a", y: "b", d: "private-tolerated"}]}
    request_object_signing_alg: ES256
    id_token_signed_response_alg: RS256
    userinfo_signed_response_alg: PS256
    token_endpoint_auth_method: client_secret_basic
    token_endpoint_auth_signing_alg: EdDSA
    grant_types: [authorization_code]
    response_types: [code, id_token token]
    post_logout_redirect_uris: [https://meet.example.com/bye]
    contacts: [ops@example.com]
    uri: https://meet.example.com/
    logo_uri: https://meet.example.com/logo.svg
authorities:
  - name: upstream
    authority_type: oidc
""",
    )
    client = registry.get("meet")
    assert client is not None
    assert client.secret == "0123"
    assert client.trusted
    assert not client.insecure
    assert client.trusted_scopes == ("konnect/guestok", "kopano/kwm")
    assert client.origins == ("https://meet.example.com", "https://other.example.com:8443")
    assert client.jwks == {
        "keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "private-tolerated"}]
    }
    assert client.request_object_signing_alg == "ES256"
    assert client.id_token_signed_response_alg == "RS256"
    assert client.userinfo_signed_response_alg == "PS256"
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.token_endpoint_auth_signing_alg == "EdDSA"
    assert client.grant_types == ("authorization_code",)
    assert client.response_types == ("code", "id_token token")
    assert client.post_logout_redirect_uris == ("https://meet.example.com/bye",)
    assert client.contacts == ("ops@example.com",)
    assert client.uri == "https://meet.example.com/"
    assert client.logo_uri == "https://meet.example.com/logo.svg"
    assert not client.is_public


@pytest.mark.parametrize(
    ("word", "value"), [("yes", True), ("no", False), ("true", True), ("False", False)]
)
def test_bools_accept_yaml_words(tmp_path: Path, word: str, value: bool) -> None:
    registry = load(
        tmp_path,
        f"clients:\n  - id: a\n    trusted: {word}\n    redirect_uris: [https://a.example/cb]\n",
    )
    client = registry.get("a")
    assert client is not None
    assert client.trusted is value


def test_defaults_of_a_minimal_entry(tmp_path: Path) -> None:
    registry = load(tmp_path, "clients:\n  - id: a\n    redirect_uris: [https://a.example/cb]\n")
    client = registry.get("a")
    assert client is not None
    assert client.is_public
    assert not client.trusted
    assert client.application_type == "web"
    assert client.origins == ("https://a.example",)
    assert client.display_name == "a"


def test_insecure_client_needs_no_redirect_uris(tmp_path: Path) -> None:
    registry = load(tmp_path, "clients:\n  - id: dev\n    insecure: yes\n")
    assert registry.lookup("dev", "http://dev.example.net:8080/anything").id == "dev"


def test_insecure_web_client_may_use_http_but_not_loopback(tmp_path: Path) -> None:
    registry = load(
        tmp_path,
        "clients:\n  - id: dev\n    insecure: yes\n    redirect_uris: [http://dev.example.net/cb]\n",
    )
    assert registry.lookup("dev", "http://dev.example.net/cb").id == "dev"
    assert problems(
        tmp_path,
        "clients:\n  - id: dev\n    insecure: yes\n    redirect_uris: [http://127.0.0.1:9/cb]\n",
    ) == [
        "4: client 'dev': redirect URI 'http://127.0.0.1:9/cb' is http on a loopback host, "
        "which needs application_type: native"
    ]


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
clients:
  - id: typo
    redirect_uri: [https://a.example/cb]
    trusted: 1
  - name: no id here
    redirect_uris: [https://b.example/cb]
  - id: web
    redirect_uris:
      - https://c.example/cb
      - http://c.example/cb
      - https://c.example/cb#frag
      - http://localhost/cb
      - no-host
    origins: [https://c.example/]
  - id: native
    application_type: native
    redirect_uris:
      - https://d.example/cb
      - http://d.example/cb
      - my-app:/callback
      - my-app://callback
      - http://[::1]:7/cb
  - id: web
    application_type: desktop
    secret: 1234
  - id: keys
    redirect_uris: [https://e.example/cb]
    jwks: {keys: [{kid: x}, 7]}
    request_object_signing_alg: HS256
    id_token_signed_response_alg: none
    userinfo_signed_response_alg: ES256K
    token_endpoint_auth_signing_alg: rs256
  - id: nojwks
    redirect_uris: [https://f.example/cb]
    request_object_signing_alg: ES256
    jwks: {keys: []}
  - id: types
    name: [not, a, string]
    redirect_uris: https://g.example/cb
    trusted_scopes: [openid, 5]
    jwks: [a]
    secret: ""
    post_logout_redirect_uris: [/relative]
  - just a string
  - id: dupkey
    insecure: yes
    insecure: yes
""",
    )
    assert found == [
        "2: client 'typo': redirect_uris is required (unless insecure: yes)",
        "3: client 'typo': unknown key 'redirect_uri' (did you mean 'redirect_uris'?)",
        "4: client 'typo': trusted must be yes/no or true/false",
        "5: client #2: id is required",
        "10: client 'web': redirect URI 'http://c.example/cb' must use https (or set insecure: "
        "yes)",
        "11: client 'web': redirect URI 'https://c.example/cb#frag' must not have a fragment",
        "12: client 'web': redirect URI 'http://localhost/cb' is http on a loopback host, "
        "which needs application_type: native",
        "12: client 'web': redirect URI 'http://localhost/cb' must use https (or set insecure: "
        "yes)",
        "13: client 'web': redirect URI 'no-host' is not an absolute URI with a host",
        "14: client 'web': origin 'https://c.example/' must be scheme://host[:port] with "
        "nothing after it",
        "18: client 'native': redirect URI 'https://d.example/cb' must not use https when "
        "application_type is native",
        "19: client 'native': redirect URI 'http://d.example/cb' may use http only with "
        "localhost, 127.0.0.1 or [::1] (native)",
        "20: client 'native': redirect URI 'my-app:/callback' is not an absolute URI with a host",
        "23: client 'web': duplicate id (first defined on line 7)",
        "23: client 'web': redirect_uris is required (unless insecure: yes)",
        "24: client 'web': application_type 'desktop' is not one of: web, native",
        "25: client 'web': secret must be a string",
        "28: client 'keys': jwks key 1 must be a JWK object with `kty`",
        "28: client 'keys': jwks key 2 must be a JWK object with `kty`",
        "29: client 'keys': request_object_signing_alg 'HS256' is not a known JWS algorithm "
        "(ES256, ES384, ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512, none)",
        "30: client 'keys': id_token_signed_response_alg 'none' is not a known JWS algorithm "
        "(ES256, ES384, ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512)",
        "31: client 'keys': userinfo_signed_response_alg 'ES256K' is not a known JWS algorithm "
        "(ES256, ES384, ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512)",
        "32: client 'keys': token_endpoint_auth_signing_alg 'rs256' is not a known JWS "
        "algorithm (ES256, ES384, ES512, EdDSA, HS256, HS384, HS512, PS256, PS384, PS512, "
        "RS256, RS384, RS512)",
        "35: client 'nojwks': request_object_signing_alg ES256 needs keys to verify with "
        "(jwks or jwks_uri)",
        "38: client 'types': name must be a string",
        "39: client 'types': redirect_uris must be a list of strings",
        "40: client 'types': trusted_scopes item 2 must be a string",
        "41: client 'types': jwks must be a mapping with a `keys` list",
        "42: client 'types': secret must not be empty (leave it out for a public client)",
        "43: client 'types': post logout URI '/relative' is not an absolute URI with a host",
        "44: client #9: entry must be a mapping",
        "47: client 'dupkey': duplicate key 'insecure'",
    ]


def test_application_type_rules_skip_an_unknown_type(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "clients:\n  - id: a\n    application_type: tv\n    redirect_uris: [http://x.example/cb]\n",
    )
    assert found == ["3: client 'a': application_type 'tv' is not one of: web, native"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clients: [\n", "2: invalid YAML:"),
        ("clients:\n  - id: a\n   name: b\n", "3: invalid YAML:"),
        ("clients:\n  - id: !!python/object:os.system x\n", "2: invalid YAML:"),
        ("---\nclients:\n---\nclients:\n", "3: invalid YAML:"),
    ],
)
def test_malformed_yaml_names_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert len(found) == 1
    assert found[0].startswith(expected)
    assert "Traceback" not in found[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- id: a\n", "1: the registry must be a mapping with a `clients:` list"),
        ("clients: {id: a}\n", "1: `clients:` must be a list of client entries"),
        ("client:\n  - id: a\n", "1: unknown top-level key 'client' (expected clients)"),
        ("clients: []\nclients: []\n", "2: duplicate top-level key 'clients'"),
    ],
)
def test_top_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_merge_keys_are_supported(tmp_path: Path) -> None:
    registry = load(
        tmp_path,
        """
clients:
  - &first
    id: a
    trusted: yes
    redirect_uris: [https://a.example/cb]
  - <<: *first
    id: b
""",
    )
    client = registry.get("b")
    assert client is not None
    assert client.trusted
    assert client.redirect_uris == ("https://a.example/cb",)


def test_shipped_example_loads(tmp_path: Path) -> None:
    registry = load_registry(EXAMPLE, ISSUER)
    assert {client.id for client in registry} == {
        "nextcloud",
        "wiki",
        "desktop-app",
        "kpop-https://meet.example.com/meet/",
        "reports",
        "files-api",
    }
    files = registry.get("files-api")
    assert files is not None
    assert files.resource_server
    assert files.client_credentials_scopes == ("files/read",)
    nextcloud = registry.lookup(
        "nextcloud", "https://cloud.example.com/apps/user_oidc/code", "https://cloud.example.com"
    )
    assert nextcloud.trusted
    assert not nextcloud.is_public
    meet = registry.lookup("kpop-https://meet.example.com/meet/", "https://meet.example.com/meet/")
    assert meet.trusted
    assert meet.trusted_scopes == ("konnect/guestok", "kopano/kwm")
    assert meet.request_object_signing_alg == "ES256"
    assert meet.jwks is not None
    assert [key["kty"] for key in meet.jwks["keys"]] == ["EC"]
    assert all("d" not in key for key in meet.jwks["keys"])
    assert registry.lookup("desktop-app", "http://[::1]:51234/callback").is_public


def test_request_uris_must_be_http_urls(tmp_path: Path) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "clients:\n"
        "  - id: rp\n"
        "    redirect_uris: [https://rp.example.com/cb]\n"
        "    request_uris: [https://rp.example.com/r.jwt#v1, file:///etc/passwd]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_registry(registry, "https://idp.example.com")
    assert "request_uris must be http(s) URLs" in str(caught.value.problems)
