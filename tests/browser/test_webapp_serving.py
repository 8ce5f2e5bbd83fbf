"""Serving the web app over HTTP: caching, CSP, languages, branding options and escaping."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from konnect.config import ConfigError, load_settings
from konnect.identifier.branding import accent_rules, contrast, css_url, parse_hex
from konnect.identifier.languages import Catalogs
from konnect.identifier.webapp import WebApp
from tests.conftest import PASSWORD, RunningServer, api_headers

ServerFactory = Callable[..., RunningServer]
PAGE = "/signin/v1/identifier"
ISSUER = "https://idp.example.com"


def config_of(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="konnect-config">(.*?)</script>', html)
    assert match is not None
    return dict(json.loads(match.group(1)))


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/signin/v1/static/[^"]+)"', html)


# -- caching and CSP ----------------------------------------------------------------------


def test_page_is_not_cached_and_has_a_strict_policy(server: RunningServer) -> None:
    response = httpx.get(server.url + PAGE)
    assert response.status_code == 200
    assert "no-cache" in response.headers["cache-control"]
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp
    assert response.headers["x-frame-options"] == "DENY"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<meta name="csp-nonce" content="{nonce}">' in response.text
    assert " style=" not in response.text
    assert "__" not in response.text.replace("__CSP", "")


def test_assets_have_content_hashed_immutable_urls(server: RunningServer) -> None:
    urls = static_urls(httpx.get(server.url + PAGE).text)
    assert {url.rsplit("/", 1)[1].split(".")[0] for url in urls} == {"app", "favicon"}
    for url in urls:
        assert re.search(r"\.[0-9a-f]{10}\.(js|css|svg)$", url)
        response = httpx.get(server.url + url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
    plain = httpx.get(server.url + "/signin/v1/static/app.js")
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"


def test_assets_are_compressed_and_revalidated(server: RunningServer) -> None:
    url = server.url + "/signin/v1/static/app.js"
    packed = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    raw = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert packed.content == raw.content
    again = httpx.get(url, headers={"If-None-Match": raw.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    ["nothing.js", "..%2Findex.html", "i18n/xx.json", "branding/branding.css", ".hidden.js"],
)
def test_unknown_static_paths_are_not_found(server: RunningServer, path: str) -> None:
    assert httpx.get(f"{server.url}/signin/v1/static/{path}").status_code == 404


def test_disabled_web_app_serves_nothing(server_factory: ServerFactory) -> None:
    server = server_factory(disable_identifier_client=True)
    assert httpx.get(server.url + PAGE).text == ""
    assert httpx.get(server.url + "/signin/v1/static/app.js").status_code == 404


def test_a_konnect_style_web_app_folder_still_works(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "js" / "main.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path / "index.html").write_text(
        '<meta name="csp-nonce" content="__CSP_NONCE__">'
        '<div id="root" data-path-prefix="__PATH_PREFIX__"></div>'
        '<script src="./static/js/main.js"></script>',
        encoding="utf-8",
    )
    server = server_factory(identifier_client_path=tmp_path)
    page = httpx.get(server.url + PAGE)
    assert 'data-path-prefix="/signin/v1"' in page.text
    assert "__CSP_NONCE__" not in page.text
    assert httpx.get(server.url + "/signin/v1/static/js/main.js").status_code == 200


# -- languages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("", "", "", "en"),
        ("", "", "nl-BE,nl;q=0.9,en;q=0.5", "nl"),
        ("", "", "xx-YY, es;q=0.4, de;q=0.8", "de"),
        ("", "it", "de", "it"),
        ("fr-CA de", "it", "es", "fr"),
        ("xx", "", "es", "es"),
        ("", "", "*;q=1, x-klingon", "en"),
        ("", "", "en-GB,en;q=0.9,de;q=0.5", "en"),
        ("", "", "en-US", "en"),
        ("", "", "pt-PT,pt;q=0.9,en;q=0.8", "pt-PT"),
        ("", "", "pt", "pt-PT"),
        ("", "", "pt-BR, es;q=0.4, de;q=0.8", "pt-PT"),
        ("", "", "nb-NO,nb;q=0.9,no;q=0.8,nn;q=0.7,en;q=0.5", "nb"),
        ("", "", "no", "nb"),
        ("", "", "nn-NO,en;q=0.5", "nb"),
        ("", "", "ru-RU,ru;q=0.9,en-US;q=0.8", "ru"),
        ("", "", "hi", "hi"),
        ("", "", "hi-IN,en-IN;q=0.8", "hi"),
        ("", "", "is", "is"),
        ("", "", "is-IS", "is"),
        ("pt-PT", "", "de", "pt-PT"),
        ("PT-pt", "", "", "pt-PT"),
        ("pt_PT", "", "", "pt-PT"),
        ("ru is", "", "de", "ru"),
        ("nn", "", "de", "nb"),
        ("hi-IN", "de", "", "hi"),
        ("", "pt-PT", "de", "pt-PT"),
        ("", "is", "", "is"),
    ],
)
def test_language_choice(
    server: RunningServer, query: str, cookie: str, accept: str, expected: str
) -> None:
    cookies = {"konnect-lang": cookie} if cookie else {}
    response = httpx.get(
        server.url + PAGE,
        params={"ui_locales": query} if query else {},
        headers={"Accept-Language": accept} if accept else {},
        cookies=cookies,
    )
    assert f'<html lang="{expected}">' in response.text
    assert config_of(response.text)["lang"] == expected
    assert "Accept-Language" in response.headers["vary"]


def test_catalogues_fall_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text('{"a": "A", "b": "B"}', encoding="utf-8")
    (tmp_path / "de.json").write_text('{"a": "Ä"}', encoding="utf-8")
    catalogs = Catalogs.load(tmp_path)
    assert dict(catalogs.messages["de"]) == {"a": "Ä", "b": "B"}
    (tmp_path / "Bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError):
        Catalogs.load(tmp_path)


def test_every_catalogue_is_served_and_listed(server: RunningServer) -> None:
    config = config_of(httpx.get(server.url + PAGE).text)
    catalogs = config["catalogs"]
    assert isinstance(catalogs, dict)
    assert set(catalogs) >= {"en", "de", "fr", "nl", "es", "it", "hi", "is", "nb", "pt-PT", "ru"}
    german = httpx.get(server.url + catalogs["de"])
    assert german.headers["cache-control"].endswith("immutable")
    assert german.json()["signin.title"] == "Anmelden"
    portuguese = httpx.get(server.url + catalogs["pt-PT"])
    assert portuguese.json()["signin.password"] == "Palavra-passe"


def test_the_picker_names_each_language_in_itself(server: RunningServer) -> None:
    languages = config_of(httpx.get(server.url + PAGE).text)["languages"]
    assert isinstance(languages, dict)
    assert list(languages.items()) == [
        ("de", "Deutsch"),
        ("en", "English"),
        ("es", "Español"),
        ("fr", "Français"),
        ("is", "Íslenska"),
        ("it", "Italiano"),
        ("nl", "Nederlands"),
        ("nb", "Norsk bokmål"),
        ("pt-PT", "Português (Portugal)"),
        ("ru", "Русский"),
        ("hi", "हिन्दी"),
    ]


def test_catalogues_are_named_by_language_tag(tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text('{"a": "A"}', encoding="utf-8")
    for good in ("pt-PT", "zh-Hant", "es-419", "sr-Latn-RS", "nb"):
        (tmp_path / f"{good}.json").write_text('{"a": "x"}', encoding="utf-8")
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.match("ZH-hant-TW") == "zh-Hant"
    assert catalogs.match("es-MX") == "es-419"
    assert catalogs.match("pt-BR") == "pt-PT"
    assert catalogs.match("sr") == "sr-Latn-RS"
    assert catalogs.match("nn-NO") == catalogs.match("no") == "nb"
    assert catalogs.match("da") is None
    for bad in ("pt-pt", "PT-PT", "pt_PT", "english"):
        (tmp_path / f"{bad}.json").write_text("{}", encoding="utf-8")
        with pytest.raises(ConfigError):
            Catalogs.load(tmp_path)
        (tmp_path / f"{bad}.json").unlink()


# -- branding -----------------------------------------------------------------------------


def test_branding_values_are_escaped(server_factory: ServerFactory) -> None:
    name = "</script><script>alert(1)</script> __CSP_NONCE__ & \"x\" 'y'"
    server = server_factory(branding_product_name=name)
    html = httpx.get(server.url + PAGE).text
    assert "<script>alert" not in html
    assert "</script><script>" not in html
    assert config_of(html)["product"] == name
    title = re.search(r"<title>(.*?)</title>", html)
    assert title is not None
    assert "&lt;/script&gt;" in title.group(1)
    assert html.count("__CSP_NONCE__") == 0


def test_branding_stylesheet_carries_the_accent(server_factory: ServerFactory) -> None:
    server = server_factory(branding_accent_color="#ffcc00")
    html = httpx.get(server.url + PAGE).text
    css_url_ = next(url for url in static_urls(html) if "/branding/" in url)
    css = httpx.get(server.url + css_url_)
    assert css.headers["content-type"].startswith("text/css")
    assert "--accent:#ffcc00;--on-accent:#000000" in css.text


def test_remote_logo_is_allowed_by_the_policy(server_factory: ServerFactory) -> None:
    server = server_factory(branding_logo="https://cdn.example.com/logo.png?v=1")
    response = httpx.get(server.url + PAGE)
    assert (
        "img-src 'self' data: https://cdn.example.com;"
        in (response.headers["content-security-policy"])
    )
    assert 'src="https://cdn.example.com/logo.png?v=1"' in response.text


@pytest.mark.parametrize("color", ["#000", "#fff", "#ffcc00", "#0a7f5a", "#7f7f7f", "#1f5fbf"])
def test_derived_colours_are_readable(color: str) -> None:
    rules = accent_rules(color)
    light_ink, dark_ink = re.findall(r"--accent-ink:(#[0-9a-f]{6})", rules)
    assert contrast(parse_hex(light_ink), parse_hex("#ffffff")) >= 4.5
    assert contrast(parse_hex(dark_ink), parse_hex("#1a1e25")) >= 4.5
    for accent, on_accent in re.findall(r"--accent:(#\w+);--on-accent:(#\w+)", rules):
        assert contrast(parse_hex(accent), parse_hex(on_accent)) >= 4.5


def test_css_urls_cannot_break_out() -> None:
    assert css_url('https://x/a"b\\c)d\n') == 'url("https://x/a\\22 b\\5c c\\29 d\\a ")'


def test_branding_options_from_flags_environment_and_cfg(tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text("<svg/>", encoding="utf-8")
    (tmp_path / "konnectd.cfg").write_text(
        f"branding_logo = {logo}\nbranding_background = https://img.example.com/bg.jpg\n",
        encoding="utf-8",
    )
    settings = load_settings(
        ["--iss", ISSUER, "--config", str(tmp_path / "konnectd.cfg"), "--branding-accent-color",
         "#ABC", "dummy"],
        {"KONNECTD_BRANDING_PRODUCT_NAME": "Acme"},
    )  # fmt: skip
    assert settings.branding_product_name == "Acme"
    assert settings.branding_accent_color == "#abc"
    assert settings.branding_logo == str(logo)
    assert settings.branding_background == "https://img.example.com/bg.jpg"


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("--branding-accent-color", "red", "#rgb or #rrggbb"),
        ("--branding-accent-color", "#12345", "#rgb or #rrggbb"),
        ("--branding-accent-color", "#fff;}body{x", "#rgb or #rrggbb"),
        ("--branding-logo", "http://cdn.example.com/l.png", "https:// URL"),
        ("--branding-logo", "/nonexistent/logo.png", "file not found"),
        ("--branding-background", "/etc/passwd", "image file"),
        ("--branding-product-name", "a\nb", "printable"),
    ],
)
def test_bad_branding_options_are_refused(flag: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(["--iss", ISSUER, flag, value, "dummy"], {})
    assert any(flag in text and problem in text for text in caught.value.problems)


# -- the hello API's client details -------------------------------------------------------


def test_hello_names_the_client_web_page_and_logo(
    server_factory: ServerFactory, config_dir: Path
) -> None:
    registry = config_dir / "registry.yaml"
    registry.write_text(
        registry.read_text(encoding="utf-8").replace(
            "    redirect_uris: [https://rp.example.com/cb]",
            "    uri: javascript:alert(1)\n    logo_uri: https://rp.example.com/logo.png\n"
            "    redirect_uris: [https://rp.example.com/cb]",
        ),
        encoding="utf-8",
    )
    server = server_factory()
    assert (
        "https://rp.example.com;" in httpx.get(server.url + PAGE).headers["content-security-policy"]
    )
    with httpx.Client(base_url=server.url) as client:
        headers = api_headers(server.url)
        body = {"state": "s", "params": ["jonas", PASSWORD, "1"], "hello": None}
        client.post("/signin/v1/identifier/_/logon", json=body, headers=headers)
        hello = {
            "state": "h",
            "flow": "oidc",
            "scope": "openid",
            "client_id": "untrusted-app",
            "redirect_uri": "https://rp.example.com/cb",
        }
        said = client.post("/signin/v1/identifier/_/hello", json=hello, headers=headers).json()
    assert said["client"]["logo_uri"] == "https://rp.example.com/logo.png"
    assert "uri" not in said["client"]


def test_webapp_can_be_built_without_a_provider() -> None:
    folder = Path(__file__).resolve().parents[2] / "konnect" / "identifier_ui"
    webapp = WebApp.build(folder, "/auth/signin/v1")
    assert set(webapp.rendered) >= {"en", "de"}
    assert '"/auth/signin/v1/static/app.' in webapp.rendered["en"]
