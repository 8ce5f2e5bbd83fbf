"""What Jitsi Meet's prosody checks in a token, restated for tests with PyJWT.

Jitsi's own plugins (`mod_auth_token`, `token/util.lib.lua`, `mod_token_affiliation`) and
their JWT library are published only in Jitsi's source repositories, not in Debian, PyPI or
npm, so they cannot run here. These rules follow them point by point, configured the way
docker-jitsi-meet configures prosody; signatures are checked by PyJWT, not by konnect's code.

- the JWT library: three segments; header `typ` exactly "JWT"; `alg` one of HS256/384/512,
  RS256/384/512; `exp` and `nbf` numbers when present; the signature; then refused when
  now >= exp or now < nbf (no leeway).
- the token plugin: `alg` not none/empty; `iss` in the accepted issuers (default: only the
  app id); `room` present; `aud` in the accepted audiences (`*`: any). With an ASAP key
  server, the header's `kid` is required and the key is fetched once per kid from
  `<key server>/<lowercase hex sha256 of kid>.pem`.
- joining a room: without domain verification, the token's room lowercased (or `*`) must be
  the room; with it, `room@<muc prefix>.<sub>` (or the MUC domain for sub `*`), or for a
  tenant `[tenant]room@<MUC domain>` with the tenant from `sub`, must be the room address.
- `mod_token_affiliation`: `context.user` with affiliation owner/moderator/teacher or
  moderator true/"true" becomes owner (moderator role); any other token holder a member.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

LIBRARY_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512")


class Refused(Exception):
    """Prosody refuses the token (connect) or the join; the message is its reason."""


@dataclass(frozen=True)
class ProsodyConfig:
    """The token settings of docker-jitsi-meet's prosody (JWT_* variables)."""

    app_id: str  # JWT_APP_ID
    app_secret: bytes | None = None  # JWT_APP_SECRET
    asap_key_server: str | None = None  # JWT_ASAP_KEYSERVER
    accepted_issuers: tuple[str, ...] | None = None  # JWT_ACCEPTED_ISSUERS
    accepted_audiences: tuple[str, ...] = ("*",)  # JWT_ACCEPTED_AUDIENCES
    domain_verification: bool = False  # JWT_ENABLE_DOMAIN_VERIFICATION
    xmpp_domain: str = "meet.jitsi"  # XMPP_DOMAIN (muc_mapper_domain_base)
    muc_prefix: str = "muc"  # XMPP_MUC_DOMAIN_PREFIX

    @property
    def muc_domain(self) -> str:
        return f"{self.muc_prefix}.{self.xmpp_domain}"


@dataclass
class Session:
    """What prosody binds to the XMPP session after accepting a token."""

    room: str | None
    domain: str | None
    user: dict[str, Any] | None
    claims: dict[str, Any]


@dataclass
class Prosody:
    """One prosody: accepts tokens at connect, checks rooms at join, sets affiliations."""

    config: ProsodyConfig
    key_cache: dict[str, str] = field(default_factory=dict)
    key_fetches: list[str] = field(default_factory=list)

    def connect(self, token: str, now: float | None = None) -> Session:
        now = time.time() if now is None else now
        header = _segment(token, 0)
        key: str | bytes
        if self.config.asap_key_server:
            kid = header.get("kid")
            if kid is None:
                raise Refused("'kid' claim is missing")
            key = self._public_key(str(kid))
        else:
            assert self.config.app_secret is not None
            key = self.config.app_secret
        claims = self._decode(token, header, key, now)
        self._check_claims(claims)
        context = claims.get("context") or {}
        return Session(claims.get("room"), claims.get("sub"), context.get("user"), claims)

    def _public_key(self, kid: str) -> str:
        if kid not in self.key_cache:
            name = hashlib.sha256(kid.encode()).hexdigest() + ".pem"
            url = self.config.asap_key_server.rstrip("/") + "/" + name  # type: ignore[union-attr]
            self.key_fetches.append(url)
            response = httpx.get(url, timeout=10)
            if response.status_code not in (200, 204):
                raise Refused("could not obtain public key")
            self.key_cache[kid] = response.text
        return self.key_cache[kid]

    @staticmethod
    def _decode(token: str, header: dict[str, Any], key: str | bytes, now: float) -> dict[str, Any]:
        if header.get("typ") != "JWT":
            raise Refused("Invalid typ")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in LIBRARY_ALGORITHMS:
            raise Refused("Algorithm not supported")
        body = _segment(token, 1)
        for name in ("exp", "nbf"):
            if name in body and not isinstance(body[name], int | float):
                raise Refused(f"{name} must be number")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as error:
            raise Refused(f"Invalid signature ({error})") from None
        if "exp" in claims and now >= claims["exp"]:
            raise Refused("Not acceptable by exp")
        if "nbf" in claims and now < claims["nbf"]:
            raise Refused("Not acceptable by nbf")
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        config = self.config
        if "iss" not in claims:
            raise Refused("'iss' claim is missing")
        if claims["iss"] not in (config.accepted_issuers or (config.app_id,)):
            raise Refused("Invalid issuer ('iss' claim)")
        if "room" not in claims:
            raise Refused("'room' claim is missing")
        if "aud" not in claims:
            raise Refused("'aud' claim is missing")
        audiences = config.accepted_audiences
        if "*" not in audiences and claims["aud"] not in audiences:
            raise Refused("Invalid audience ('aud' claim)")

    def join(self, session: Session, room: str, tenant: str = "") -> str:
        """Join `room` (the MUC node Jitsi's client uses); the affiliation it gets."""
        node = f"[{tenant}]{room}" if tenant else room
        if not self._room_allowed(session, node):
            raise Refused(f"token not valid for room {node}")
        return affiliation(session.user)

    def _room_allowed(self, session: Session, node: str) -> bool:
        auth_room = session.room
        config = self.config
        address = f"{node}@{config.muc_domain}"
        if not config.domain_verification:
            return not auth_room or auth_room == "*" or node == str(auth_room).lower()
        tenant, _, bare_room = node[1:].partition("]") if node.startswith("[") else ("", "", node)
        room_to_check = bare_room if auth_room == "*" else str(auth_room)
        domain = str(session.domain)
        if tenant:
            sub = tenant if domain == "*" else domain
            return address == f"[{sub.lower()}]{room_to_check.lower()}@{config.muc_domain}"
        muc = config.muc_domain if domain == "*" else f"{config.muc_prefix}.{domain}"
        return address == f"{room_to_check.lower()}@{muc.lower()}"


def affiliation(user: dict[str, Any] | None) -> str:
    """The affiliation `mod_token_affiliation` gives a token holder."""
    if user and (
        user.get("affiliation") in ("owner", "moderator", "teacher")
        or user.get("moderator") in (True, "true")
    ):
        return "owner"
    return "member"


def _segment(token: str, index: int) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused("Invalid token")
    try:
        raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
        value = json.loads(raw)
    except ValueError:
        raise Refused("bad token format") from None
    if not isinstance(value, dict):
        raise Refused("bad token format")
    return value
