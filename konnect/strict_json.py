"""Reading JSON that others send: requests, tokens, and the answers of other servers.

Only I-JSON (RFC 7493) is accepted: UTF-8, no NaN or Infinity (nor a number too large to be
one), no lone surrogate escape (text that is not Unicode, which would fail wherever it is
stored or written later), nested at most 1024 deep. Imports nothing of konnect's own, so any
package may use it.
"""

from __future__ import annotations

from typing import Any

import orjson


def parse_json(text: str | bytes) -> Any:
    """The value `text` holds; ValueError when it is not I-JSON."""
    return orjson.loads(text)
