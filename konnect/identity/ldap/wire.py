"""The two requests of every sign-in, BER-encoded directly (RFC 4511 §4.2, §4.5.1).

ldap3 builds each request as pyasn1 objects from a filter string; for a sign-in that costs
more CPU than everything else konnect does. Here the configured filter is compiled once, the
login value goes into the request as raw bytes (it is never parsed as filter text, so it
cannot add clauses or wildcards; see filters.py), and the message is written to the
connection's socket.
Responses are still read and decoded by ldap3 on the same connection.
"""

from __future__ import annotations

from typing import Any

_SCOPE_CODES = {"base": 0, "one": 1, "sub": 2}
_NEVER_DEREF_ALIASES = 0


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _integer(value: int, tag: int = 0x02) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def octets(value: bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, value)


def search_request(
    base: str,
    scope: str,
    filter_ber: bytes,
    attributes: list[str],
    size_limit: int,
    time_limit: int,
) -> bytes:
    content = b"".join(
        [
            octets(base.encode("utf-8")),
            _integer(_SCOPE_CODES[scope], tag=0x0A),
            _integer(_NEVER_DEREF_ALIASES, tag=0x0A),
            _integer(size_limit),
            _integer(time_limit),
            tlv(0x01, b"\x00"),  # typesOnly FALSE
            filter_ber,
            tlv(0x30, b"".join(octets(name.encode("utf-8")) for name in attributes)),
        ]
    )
    return tlv(0x63, content)


def simple_bind_request(dn: str, password: bytes) -> bytes:
    content = _integer(3) + octets(dn.encode("utf-8")) + octets(password, tag=0x80)
    return tlv(0x60, content)


def _send(conn: Any, operation: bytes, request: dict[str, Any]) -> int:
    outstanding = conn.strategy._outstanding
    if conn.socket is None or outstanding is None:
        raise OSError("the connection is closed")
    message_id = int(conn.server.next_message_id())
    outstanding[message_id] = request  # ldap3 reads answers only for outstanding ids
    conn.socket.sendall(tlv(0x30, _integer(message_id) + operation))
    return message_id


def search(conn: Any, request: bytes, attributes: list[str]) -> tuple[dict[str, Any], list[Any]]:
    """Send a prepared search request; the result and the entries, as ldap3 decodes them."""
    message_id = _send(conn, request, {"type": "searchRequest", "attributes": attributes})
    responses = conn.strategy.post_send_search(message_id)
    return dict(conn.result), list(responses)


def bind(conn: Any, dn: str, password: bytes) -> dict[str, Any]:
    """A simple bind; the result as ldap3 decodes it."""
    message_id = _send(conn, simple_bind_request(dn, password), {"type": "bindRequest"})
    responses = conn.strategy.post_send_single_response(message_id)
    return dict(responses[-1])
