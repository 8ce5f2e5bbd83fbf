"""What an authorization carries from authorize to the token endpoint and on to refreshes.

A `Grant` is sealed into the authorization code and into the refresh token, so the token
endpoint needs no backend call for a code and no server-side record beyond single-use marks.
The rules about a grant live in modules named for them: `grant_lifecycle` (a code used once,
refresh rotation and reuse detection, revocation, jti replay) and `pkce` (the code's challenge).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from konnect.identity import User


@dataclass(frozen=True)
class Grant:
    """One user's authorization of one client: the family every token it yields belongs to."""

    grant_id: str
    client_id: str
    user: User
    provider: str
    scopes: tuple[str, ...]
    auth_time: int
    sid: str = ""
    nonce: str = ""
    claims: dict[str, Any] | None = None  # `kc.authorizedClaims`: a signed request's only
    include_auth_time: bool = False
    # How the user signed in (RFC 8176) and the acr to report ("" when none was asked for):
    # a refresh keeps those of the sign-in.
    amr: tuple[str, ...] = ()
    acr: str = ""
    # The account's epoch at sign-in: a refresh after the epoch was raised is refused.
    epoch: int = 0
    # Only for codes: what the token request must repeat or prove.
    redirect_uri: str = ""
    code_challenge: str = ""
    response_type: str = "code"
    # Not sealed: the id the next refresh token of this grant gets (refresh-token rotation).
    next_refresh_id: str = ""

    def with_scopes(self, scopes: tuple[str, ...]) -> Grant:
        return replace(self, scopes=scopes)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "g": self.grant_id,
            "c": self.client_id,
            "u": self.user.to_record(),
            "p": self.provider,
            "sc": list(self.scopes),
            "at": self.auth_time,
        }
        optional: dict[str, Any] = {
            "sid": self.sid,
            "n": self.nonce,
            # Not "cl": grants sealed under that key may hold unsigned claims requests.
            "ac": self.claims,
            "iat": self.include_auth_time,
            "amr": list(self.amr),
            "acr": self.acr,
            "ep": self.epoch,
            "r": self.redirect_uri,
            "cc": self.code_challenge,
            "rt": self.response_type if self.response_type != "code" else "",
        }
        record.update({key: value for key, value in optional.items() if value})
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Grant:
        claims = record.get("ac")
        return cls(
            grant_id=str(record["g"]),
            client_id=str(record["c"]),
            user=User.from_record(record["u"]),
            provider=str(record["p"]),
            scopes=tuple(str(scope) for scope in record["sc"]),
            auth_time=int(record["at"]),
            sid=str(record.get("sid", "")),
            nonce=str(record.get("n", "")),
            claims=claims if isinstance(claims, dict) else None,
            include_auth_time=bool(record.get("iat", False)),
            amr=tuple(str(method) for method in record.get("amr", ())),
            acr=str(record.get("acr", "")),
            epoch=int(record.get("ep", 0)),
            redirect_uri=str(record.get("r", "")),
            code_challenge=str(record.get("cc", "")),
            response_type=str(record.get("rt") or "code"),
        )
