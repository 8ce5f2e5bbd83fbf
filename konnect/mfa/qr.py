"""The QR code of an authenticator app's key URI, as inline SVG (segno, imported on use)."""

from __future__ import annotations


def qr_svg(uri: str) -> str:
    """An SVG image of `uri`: black on white in either theme, as scanners expect."""
    import segno

    code = segno.make(uri, error="m")
    svg: str = code.svg_inline(scale=4, border=2, dark="#000", light="#fff")
    return svg
