"""/jitsi/login against a running konnect: tokens as Jitsi's prosody accepts them, roles,
rooms, expiry, sign-in on the way, refusals as pages."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from konnect.crypto import public_subject
from tests.conftest import api_headers, browser, sign_in
from tests.jitsi.conftest import (
    ASAP_URL,
    JITSI_URL,
    SECRET,
    JitsiSite,
    SignedIn,
    follow_login,
    token_of,
)
from tests.jitsi.prosody_rules import Prosody, ProsodyConfig, Refused

USERS_BACKEND = "identifier-users"


def prosody_for_meet(site: JitsiSite, *, domain_verification: bool) -> Prosody:
    """docker-jitsi-meet: JWT_APP_ID=konnect, JWT_APP_SECRET, JWT_ACCEPTED_ISSUERS=<konnect>,
    JWT_ACCEPTED_AUDIENCES=jitsi."""
    return Prosody(
        ProsodyConfig(
            app_id="konnect",
            app_secret=SECRET,
            accepted_issuers=(site.url,),
            accepted_audiences=("jitsi",),
            domain_verification=domain_verification,
        )
    )


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=="))
    return decoded


def meet_token(
    signed_in: SignedIn, site: JitsiSite, username: str, room: str = "Daily-Standup"
) -> str:
    client = signed_in(site.url, username)
    response = follow_login(client, f"room={room}&server=meet")
    return token_of(response, JITSI_URL, quote(room, safe=""))


@pytest.mark.parametrize("domain_verification", [False, True])
def test_members_join_and_staff_become_moderators(
    signed_in: SignedIn, jitsi_site: JitsiSite, domain_verification: bool
) -> None:
    prosody = prosody_for_meet(jitsi_site, domain_verification=domain_verification)
    moderator = prosody.connect(meet_token(signed_in, jitsi_site, "jonas"))
    member = prosody.connect(meet_token(signed_in, jitsi_site, "erika"))
    assert prosody.join(moderator, "daily-standup") == "owner"
    assert prosody.join(member, "daily-standup") == "member"


def test_token_carries_the_claims_jitsi_reads(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    token = meet_token(signed_in, jitsi_site, "jonas")
    assert header_of(token) == {"alg": "HS256", "typ": "JWT"}
    claims = prosody_for_meet(jitsi_site, domain_verification=True).connect(token).claims
    assert claims["iss"] == jitsi_site.url
    assert claims["aud"] == "jitsi"
    assert claims["sub"] == "meet.jitsi"
    assert claims["room"] == "daily-standup"
    assert all(isinstance(claims[name], int) for name in ("iat", "nbf", "exp"))
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] <= claims["iat"]
    assert claims["context"] == {
        "user": {
            "id": public_subject("1001", USERS_BACKEND),
            "name": "Jonas Brekke",
            "email": "jonas@example.com",
            "affiliation": "owner",
            "moderator": True,
            "lobby_bypass": True,
        },
        "group": "example",
        "features": {"recording": True, "screen-sharing": True},
    }


def test_member_gets_member_affiliation_and_only_everybodys_features(
    signed_in: SignedIn,
    jitsi_site: JitsiSite,
) -> None:
    token = meet_token(signed_in, jitsi_site, "erika")
    claims = prosody_for_meet(jitsi_site, domain_verification=False).connect(token).claims
    user = claims["context"]["user"]
    assert (user["affiliation"], user["moderator"]) == ("member", False)
    assert "email" not in user
    assert claims["context"]["features"] == {"recording": False, "screen-sharing": True}


@pytest.mark.parametrize("domain_verification", [False, True])
def test_a_token_for_room_a_is_refused_in_room_b(
    signed_in: SignedIn, jitsi_site: JitsiSite, domain_verification: bool
) -> None:
    prosody = prosody_for_meet(jitsi_site, domain_verification=domain_verification)
    session = prosody.connect(meet_token(signed_in, jitsi_site, "jonas", "RoomA"))
    assert prosody.join(session, "rooma") == "owner"
    with pytest.raises(Refused, match="not valid for room"):
        prosody.join(session, "roomb")


def test_expired_and_not_yet_valid_tokens_are_refused(
    signed_in: SignedIn, jitsi_site: JitsiSite
) -> None:
    prosody = prosody_for_meet(jitsi_site, domain_verification=False)
    token = meet_token(signed_in, jitsi_site, "erika")
    claims = prosody.connect(token).claims
    prosody.connect(token, now=claims["exp"] - 1)
    with pytest.raises(Refused, match="exp"):
        prosody.connect(token, now=claims["exp"])
    with pytest.raises(Refused, match="nbf"):
        prosody.connect(token, now=claims["nbf"] - 1)


def test_prosody_refuses_tokens_for_another_app_or_issuer(
    signed_in: SignedIn, jitsi_site: JitsiSite
) -> None:
    token = meet_token(signed_in, jitsi_site, "jonas")
    wrong_audience = Prosody(
        ProsodyConfig(
            app_id="konnect",
            app_secret=SECRET,
            accepted_issuers=(jitsi_site.url,),
            accepted_audiences=("other",),
        )
    )
    with pytest.raises(Refused, match="aud"):
        wrong_audience.connect(token)
    # Jitsi accepts only its app id as issuer unless JWT_ACCEPTED_ISSUERS names konnect.
    default_issuers = Prosody(ProsodyConfig(app_id="konnect", app_secret=SECRET))
    with pytest.raises(Refused, match="iss"):
        default_issuers.connect(token)
    wrong_secret = Prosody(
        ProsodyConfig(app_id="konnect", app_secret=b"x" * 64, accepted_issuers=(jitsi_site.url,))
    )
    with pytest.raises(Refused, match="signature"):
        wrong_secret.connect(token)


def test_tenant_rooms_carry_the_tenant_as_sub(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    client = signed_in(jitsi_site.url, "jonas")
    token = token_of(
        follow_login(client, "room=Acme/Standup&server=meet"), JITSI_URL, "Acme/Standup"
    )
    prosody = prosody_for_meet(jitsi_site, domain_verification=True)
    session = prosody.connect(token)
    assert (session.claims["sub"], session.claims["room"]) == ("acme", "standup")
    assert prosody.join(session, "standup", tenant="acme") == "owner"
    with pytest.raises(Refused):
        prosody.join(session, "standup", tenant="other")


def test_room_names_become_jitsis_backend_names(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    client = signed_in(jitsi_site.url, "erika")
    token = token_of(follow_login(client, "room=Café&server=meet"), JITSI_URL, "Caf%C3%A9")
    prosody = prosody_for_meet(jitsi_site, domain_verification=True)
    assert prosody.join(prosody.connect(token), "caf%c3%a9") == "member"


def test_asap_tokens_verify_with_the_key_server(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    client = signed_in(jitsi_site.url, "erika")
    token = token_of(follow_login(client, "room=lecture&server=classes"), ASAP_URL, "lecture")
    header = header_of(token)
    assert (header["alg"], header["typ"]) == ("RS256", "JWT")
    prosody = Prosody(
        ProsodyConfig(
            app_id="classes",
            asap_key_server=jitsi_site.url + "/jitsi/asap",
            accepted_issuers=(jitsi_site.url,),
            domain_verification=True,
        )
    )
    session = prosody.connect(token)
    assert prosody.key_fetches[0].startswith(jitsi_site.url + "/jitsi/asap/")
    assert session.claims["sub"] == "*"
    assert session.claims["exp"] - session.claims["iat"] == 120
    # No moderator_groups: everybody is a moderator, as with LemonLDAP::NG.
    assert prosody.join(session, "lecture") == "owner"


def test_groups_outside_allowed_groups_get_a_page_not_a_token(
    signed_in: SignedIn, jitsi_site: JitsiSite
) -> None:
    refused = follow_login(signed_in(jitsi_site.url, "erika"), "room=x&server=staff-only")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert "access_denied" in refused.text
    assert "location" not in refused.headers
    allowed = follow_login(signed_in(jitsi_site.url, "jonas"), "room=x&server=staff-only")
    token = token_of(allowed, "https://staff.example.com", "x")
    assert header_of(token)["alg"] == "HS512"
    prosody = Prosody(
        ProsodyConfig(app_id="konnect", app_secret=SECRET, accepted_issuers=(jitsi_site.url,))
    )
    assert prosody.join(prosody.connect(token), "x") == "owner"


@pytest.mark.parametrize(
    "query",
    [
        "server=meet",
        "room=&server=meet",
        "room=a%20b&server=meet",
        "room=a%3Fb&server=meet",
        "room=a@b&server=meet",
        "room=a/b/c&server=meet",
        "room=%00&server=meet",
        "room=" + "x" * 201 + "&server=meet",
        "room=ok",
        "room=ok&server=nope",
        "room=ok&room=other&server=meet",
        "room=%ff&server=meet",
    ],
)
def test_bad_requests_get_a_clear_page(
    signed_in: SignedIn, jitsi_site: JitsiSite, query: str
) -> None:
    response = follow_login(signed_in(jitsi_site.url, "jonas"), query)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert "invalid_request" in response.text


def test_sign_in_first_then_back_to_the_login(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    client = signed_in(jitsi_site.url, "jonas")
    client.cookies.clear()
    answer = follow_login(client, "room=standup&server=meet")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.path == "/signin/v1/identifier"
    back = parse_qs(location.query)["continue"][0]
    assert back == jitsi_site.url + "/signin/v1/identifier/_/jitsi/login?room=standup&server=meet"
    assert sign_in(client, jitsi_site.url, "jonas").status_code == 200
    token_of(client.get(back), JITSI_URL, "standup")


def test_a_cookie_copied_before_sign_out_gets_no_token(
    signed_in: SignedIn, jitsi_site: JitsiSite
) -> None:
    client = signed_in(jitsi_site.url, "jonas")
    token_of(follow_login(client, "room=standup&server=meet"), JITSI_URL, "standup")
    with browser(jitsi_site.url) as thief:
        for cookie in client.cookies.jar:
            thief.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
        logoff = client.post(
            "/signin/v1/identifier/_/logoff",
            json={"state": "x"},
            headers=api_headers(jitsi_site.url),
        )
        assert logoff.status_code == 200
        answer = follow_login(thief, "room=standup&server=meet")
        assert answer.status_code == 302
        assert urlsplit(answer.headers["location"]).path == "/signin/v1/identifier"


def test_logout_asks_then_returns_to_jitsi(signed_in: SignedIn, jitsi_site: JitsiSite) -> None:
    client = signed_in(jitsi_site.url, "jonas")
    answer = client.get("/jitsi/logout?server=meet")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.path == "/signin/v1/goodbye"
    logout = parse_qs(location.query)["logout"][0]
    signed_out = client.post(
        "/signin/v1/identifier/_/logoff",
        json={"state": "s2", "logout": logout},
        headers={"Kopano-Konnect-XSRF": "1", "Origin": jitsi_site.url},
    )
    assert signed_out.json()["continue_uri"] == JITSI_URL + "/"
    again = follow_login(client, "room=standup&server=meet")
    assert urlsplit(again.headers["location"]).path == "/signin/v1/identifier"


def test_logout_without_a_server_goes_to_the_signed_out_page(
    signed_in: SignedIn, jitsi_site: JitsiSite
) -> None:
    answer = signed_in(jitsi_site.url, "jonas").get("/jitsi/logout")
    assert answer.headers["location"] == jitsi_site.url + "/signin/v1/goodbye"
