"""Cross-site request protection of the identifier API (Konnect's XSRF header + same origin)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

XSRF_HEADER = "kopano-konnect-xsrf"


def same_origin_request(headers: Mapping[str, str]) -> bool:
    """The XSRF header is present and Origin (or Referer) names the host the request went to."""
    if headers.get(XSRF_HEADER) != "1":
        return False
    host = headers.get("host", "")
    source = headers.get("origin") or headers.get("referer")
    if not source or not host:
        return False
    try:
        source_host = urlsplit(source).netloc
    except ValueError:
        return False
    return source_host.lower() == host.lower()
