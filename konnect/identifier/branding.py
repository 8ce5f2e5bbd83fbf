"""Branding of the sign-in web app: product name, logo, accent colour and background image.

The accent colour becomes a small generated stylesheet (the page's CSP forbids inline styles);
text colours derived from it keep WCAG AA contrast in light and dark mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from konnect.config.errors import ConfigError
from konnect.config.model import BRANDING_IMAGE_TYPES, HEX_COLOR, Settings

RGB = tuple[float, float, float]
WHITE: RGB = (1.0, 1.0, 1.0)
BLACK: RGB = (0.0, 0.0, 0.0)
LIGHT_CARD: RGB = WHITE
DARK_CARD: RGB = (0x1A / 255, 0x1E / 255, 0x25 / 255)  # --card in app.css, dark mode
TEXT_CONTRAST = 4.5


@dataclass(frozen=True)
class Image:
    """A logo or background: either a remote https:// URL or the bytes of a local file."""

    url: str = ""
    body: bytes = b""
    media_type: str = ""
    suffix: str = ""

    @property
    def origin(self) -> str:
        """The origin to allow in the page's img-src, for a remote image."""
        if not self.url:
            return ""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Branding:
    """What an operator configured; empty values mean the built-in look."""

    product_name: str = ""
    logo: Image | None = None
    accent_color: str = ""
    background: Image | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        color = settings.branding_accent_color
        if color and not HEX_COLOR.fullmatch(color):
            raise ConfigError([f"branding accent colour: expected #rgb or #rrggbb, got '{color}'"])
        return cls(
            product_name=settings.branding_product_name.strip(),
            logo=load_image(settings.branding_logo, "logo"),
            accent_color=color.lower(),
            background=load_image(settings.branding_background, "background"),
        )

    @property
    def image_origins(self) -> tuple[str, ...]:
        images = (self.logo, self.background)
        return tuple(dict.fromkeys(i.origin for i in images if i is not None and i.origin))


def load_image(source: str, what: str) -> Image | None:
    """An https:// URL as is, or a local image file read once at startup."""
    if not source:
        return None
    if source.startswith("https://"):
        return Image(url=source)
    path = Path(source)
    media_type = BRANDING_IMAGE_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise ConfigError([f"branding {what}: {source} is not a supported image type"])
    try:
        body = path.read_bytes()
    except OSError as error:
        raise ConfigError([f"branding {what}: cannot read {source}: {error.strerror}"]) from None
    return Image(body=body, media_type=media_type, suffix=path.suffix.lower())


# -- colours ---------------------------------------------------------------------------------


def parse_hex(color: str) -> RGB:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(char * 2 for char in digits)
    return (
        int(digits[0:2], 16) / 255,
        int(digits[2:4], 16) / 255,
        int(digits[4:6], 16) / 255,
    )


def to_hex(color: RGB) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in color)


def luminance(color: RGB) -> float:
    """WCAG 2 relative luminance."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: RGB, second: RGB) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def mix(color: RGB, other: RGB, amount: float) -> RGB:
    red, green, blue = (a + (b - a) * amount for a, b in zip(color, other, strict=True))
    return (red, green, blue)


def readable_on(background: RGB, color: RGB, toward: RGB) -> RGB:
    """`color`, moved toward `toward` just enough to be readable text on `background`."""
    for step in range(21):
        candidate = mix(color, toward, step / 20)
        if contrast(candidate, background) >= TEXT_CONTRAST:
            return candidate
    return toward


def text_on(color: RGB) -> RGB:
    """Black or white, whichever reads better on `color`."""
    return WHITE if contrast(WHITE, color) >= contrast(BLACK, color) else BLACK


def accent_rules(color: str) -> str:
    """Custom properties for one accent colour, light and dark."""
    accent = parse_hex(color)
    ink = readable_on(LIGHT_CARD, accent, BLACK)
    dark = readable_on(DARK_CARD, accent, WHITE)
    return (
        f":root{{--accent:{to_hex(accent)};--on-accent:{to_hex(text_on(accent))};"
        f"--accent-ink:{to_hex(ink)}}}\n"
        "@media (prefers-color-scheme:dark){"
        f":root{{--accent:{to_hex(dark)};--on-accent:{to_hex(text_on(dark))};"
        f"--accent-ink:{to_hex(dark)}}}}}\n"
    )


def css_url(url: str) -> str:
    """A CSS `url("…")` whose content cannot end the string or the declaration."""
    escaped = "".join(
        char if char.isalnum() or char in "/:.-_~?&=%+,;@!$*#" else f"\\{ord(char):x} "
        for char in url
    )
    return f'url("{escaped}")'


def branding_css(branding: Branding, background_url: str) -> str:
    """The generated stylesheet; empty when nothing in it is configured."""
    rules = accent_rules(branding.accent_color) if branding.accent_color else ""
    if background_url:
        rules += (
            "@media (min-width:30.0625rem){body{background:"
            "linear-gradient(rgb(0 0 0/.15),rgb(0 0 0/.35)),"
            f"{css_url(background_url)} center/cover no-repeat fixed,var(--page)}}}}\n"
        )
    return rules
