"""Signing in at a SAML 2.0 identity provider (pysaml2's IdP in a process of its own on
loopback) ends with konnect's own code, tokens and subject; every answer a correct IdP would
not send, or that is not for this browser's request, is refused."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from saml2 import samlp

from konnect.authorities.upstream import REFRESH_AFTER, RETRY_AFTER
from konnect.http.app import Overrides
from tests.authorities.conftest import follow
from tests.authorities.saml_setup import (  # noqa: F401
    ACS,
    AUTHORIZE,
    METADATA,
    SamlFederation,
    answer_from_idp,
    b64,
    post_answer,
    query_of,
    saml_entry,
    saml_factory,
    to_idp,
    xml_of,
)
from tests.authorities.test_authorities_signin import (
    code_after_sign_in,
    error_at_client,
    local_subject,
)
from tests.conftest import Clock, browser
from tests.flows.test_bad_input import good_params
from tests.flows.test_consent_and_prompts import claims_of, exchange

Factory = Callable[..., SamlFederation]
PAST = "2001-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"
START = "/signin/v1/identifier/oauth2/start"
VISITOR = {"uid": ["visitor"], "mail": ["visitor@corp.example"]}


def signed_in(client: httpx.Client, federation: SamlFederation) -> httpx.Response:
    """A whole sign-in through the IdP process: konnect's answer to the POSTed Response."""
    action, fields = answer_from_idp(to_idp(client, federation))
    assert action == federation.konnect.url + ACS
    return post_answer(client, action, fields)


def test_sp_metadata_names_konnects_entity_id_and_acs(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory()
    document = httpx.get(federation.konnect.url + METADATA)
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/samlmetadata+xml")
    assert f'entityID="{federation.konnect.url}{METADATA}"' in document.text
    assert f'Location="{federation.konnect.url}{ACS}"' in document.text


def test_signing_in_at_the_idp_gives_konnects_own_code_tokens_and_subject(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory()
    with browser(federation.konnect.url) as client:
        back = signed_in(client, federation)
        assert back.status_code == 303
        code = code_after_sign_in(client, back)
    claims = claims_of(exchange(federation.konnect, code)["id_token"])
    assert claims["name"] == "Jonas Brekke"
    assert claims["sub"] == local_subject(federation)  # type: ignore[arg-type]


def test_aliases_map_the_idp_attribute_to_a_local_user(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory(
        lambda idp: [
            {
                **saml_entry(idp),
                "identity_claim_name": "mail",
                "identity_aliases": {"jonas@corp.example": "jonas"},
                "identity_alias_required": True,
            }
        ]
    )
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, signed_in(client, federation))


# -- refused answers ------------------------------------------------------------------------


def _audience(response: samlp.Response) -> None:
    response.assertion[0].conditions.audience_restriction[0].audience[0].text = "https://sp.example"


def _destination(response: samlp.Response) -> None:
    response.destination = "https://sp.example/acs"


def _recipient(response: samlp.Response) -> None:
    confirmation = response.assertion[0].subject.subject_confirmation[0]
    confirmation.subject_confirmation_data.recipient = "https://sp.example/acs"


def _expired(response: samlp.Response) -> None:
    response.assertion[0].conditions.not_on_or_after = PAST
    confirmation = response.assertion[0].subject.subject_confirmation[0]
    confirmation.subject_confirmation_data.not_on_or_after = PAST


def _not_yet_valid(response: samlp.Response) -> None:
    response.assertion[0].conditions.not_before = FUTURE


def _other_request(response: samlp.Response) -> None:
    response.in_response_to = "_another-request"
    confirmation = response.assertion[0].subject.subject_confirmation[0]
    confirmation.subject_confirmation_data.in_response_to = "_another-request"


def _unsolicited(response: samlp.Response) -> None:
    response.in_response_to = None
    confirmation = response.assertion[0].subject.subject_confirmation[0]
    confirmation.subject_confirmation_data.in_response_to = None


def _issuer(response: samlp.Response) -> None:
    response.assertion[0].issuer.text = "https://other-idp.example/metadata"
    if response.issuer is not None:
        response.issuer.text = "https://other-idp.example/metadata"


def _failed(response: samlp.Response) -> None:
    failed = samlp.StatusCode(value=samlp.STATUS_AUTHN_FAILED)
    response.status = samlp.Status(
        status_code=samlp.StatusCode(value=samlp.STATUS_RESPONDER, status_code=failed)
    )


CHANGES = {
    "wrong audience": _audience,
    "wrong destination": _destination,
    "wrong recipient": _recipient,
    "expired": _expired,
    "not yet valid": _not_yet_valid,
    "answers another request": _other_request,
    "unsolicited": _unsolicited,
    "another issuer": _issuer,
    "an error status": _failed,
}


def refused(
    client: httpx.Client, federation: SamlFederation, action: str, response: str, relay: str
) -> None:
    answer = post_answer(client, action, {"SAMLResponse": response, "RelayState": relay})
    result = error_at_client(answer)
    assert result["error"] == ["access_denied"], result
    assert result["state"] == ["st"]
    assert "logon" not in " ".join(client.cookies.keys()).lower()


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_signed_answer_that_is_not_for_this_request_or_not_valid_now_is_refused(
    saml_factory: Factory,  # noqa: F811
    change: Callable[[samlp.Response], None],
) -> None:
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query), change=change)
        refused(client, federation, action, response, query["RelayState"])


def test_unsigned_answers_are_refused(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query), sign_assertion=False)
        refused(client, federation, action, response, query["RelayState"])


def test_a_signed_response_without_a_signed_assertion_is_accepted(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        request = idp.request(query)
        action, response = idp.answer(request, sign_assertion=False, sign_response=True)
        answer = post_answer(
            client, action, {"SAMLResponse": response, "RelayState": query["RelayState"]}
        )
        code_after_sign_in(client, answer)


def test_a_tampered_or_foreign_signature_is_refused(saml_factory: Factory, tmp_path: Path) -> None:  # noqa: F811
    federation = saml_factory()
    idp = federation.idp.in_process()
    stranger = federation.idp.in_process(tmp_path / "stranger")  # same entity, another key
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query), identity=VISITOR)
        tampered = b64(xml_of(response).replace(">visitor<", ">jonas<"))
        refused(client, federation, action, tampered, query["RelayState"])
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = stranger.answer(stranger.request(query))
        refused(client, federation, action, response, query["RelayState"])


def _signed_assertion(xml: str) -> tuple[int, int, str]:
    """Where the (only) assertion is in the Response's XML, and its text."""
    found = re.search(r"<(\w+):Assertion\b.*</\1:Assertion>", xml, re.DOTALL)
    assert found is not None
    return found.start(), found.end(), found.group(0)


def _wrapped_beside(xml: str) -> str:
    """A second, unsigned assertion for jonas before the signed one for visitor."""
    start, end, signed = _signed_assertion(xml)
    evil = _unsigned(signed).replace(">visitor<", ">jonas<").replace(' ID="', ' ID="evil')
    return xml[:start] + evil + signed + xml[end:]


def _wrapped_inside(xml: str) -> str:
    """The signed assertion for visitor hidden in the Response's Extensions, and in its
    place an assertion for jonas that keeps the original's id and signature."""
    start, end, signed = _signed_assertion(xml)
    protocol = re.match(r"(?:<\?xml[^>]*>\s*)?<(\w+):Response", xml)
    assert protocol is not None
    prefix = protocol.group(1)
    status = xml.index(f"<{prefix}:Status")
    extensions = f"<{prefix}:Extensions>{signed}</{prefix}:Extensions>"
    evil = signed.replace(">visitor<", ">jonas<")
    return xml[:status] + extensions + xml[status:start] + evil + xml[end:]


def _unsigned(assertion: str) -> str:
    return re.sub(r"<(\w+):Signature\b.*</\1:Signature>", "", assertion, flags=re.DOTALL)


@pytest.mark.parametrize("wrap", [_wrapped_beside, _wrapped_inside], ids=["beside", "inside"])
def test_signature_wrapping_is_refused(
    saml_factory: Factory,  # noqa: F811
    wrap: Callable[[str], str],
) -> None:
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query), identity=VISITOR)
        refused(client, federation, action, b64(wrap(xml_of(response))), query["RelayState"])


def test_an_answer_is_accepted_once_and_an_assertion_id_once(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query))
        first_id = samlp.response_from_string(xml_of(response)).assertion[0].id
        fields = {"SAMLResponse": response, "RelayState": query["RelayState"]}
        cookies = dict(client.cookies)
        code_after_sign_in(client, post_answer(client, action, fields))
    with browser(federation.konnect.url) as replay:  # the same POST, cookie and all
        replay.cookies.update(cookies)
        result = error_at_client(post_answer(replay, action, fields))
        assert result["error"] == ["access_denied"]

    def same_assertion(response: samlp.Response) -> None:
        response.assertion[0].id = first_id

    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query), change=same_assertion)
        refused(client, federation, action, response, query["RelayState"])


def test_an_answer_without_this_browsers_pending_sign_in_gets_the_error_page(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory()
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        action, response = idp.answer(idp.request(query))
    with browser(federation.konnect.url) as other:
        answer = post_answer(
            other, action, {"SAMLResponse": response, "RelayState": query["RelayState"]}
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers
        unsolicited = post_answer(other, action, {"SAMLResponse": response})
        assert unsolicited.status_code == 400
        garbage = post_answer(other, action, {"SAMLResponse": "%%%", "RelayState": "x" * 32})
        assert garbage.status_code == 400


def test_garbage_from_the_idp_is_an_oauth_error_not_a_crash(saml_factory: Factory) -> None:  # noqa: F811
    federation = saml_factory()
    for junk in (
        "not base64 at all",
        b64("<not-saml/>"),
        b64("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),
    ):
        with browser(federation.konnect.url) as client:
            query = query_of(to_idp(client, federation))
            refused(client, federation, federation.konnect.url + ACS, junk, query["RelayState"])


def test_an_unreachable_idp_answers_temporarily_unavailable_and_recovers(
    saml_factory: Factory,  # noqa: F811
) -> None:
    clock = Clock(time.time())
    federation = saml_factory(start_idp=False, overrides=Overrides(clock=clock))
    with browser(federation.konnect.url) as client:
        response = client.get(AUTHORIZE + "?" + urlencode(good_params()))
        location = str(response.url.join(response.headers["location"]))
        start = follow(client, location, federation.konnect.url + START)
        result = error_at_client(client.get(start))
    assert result["error"] == ["temporarily_unavailable"]
    assert result["state"] == ["st"]
    federation.idp.start()
    clock.advance(RETRY_AFTER + 1)
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, signed_in(client, federation))


def test_known_metadata_is_kept_while_the_idp_is_down(
    saml_factory: Factory,  # noqa: F811
) -> None:
    clock = Clock(time.time())
    federation = saml_factory(overrides=Overrides(clock=clock))
    with browser(federation.konnect.url) as client:
        code_after_sign_in(client, signed_in(client, federation))
    federation.idp.stop()
    clock.advance(REFRESH_AFTER + 1)  # the background refresh fails: the metadata is kept
    with browser(federation.konnect.url) as client:
        assert to_idp(client, federation).startswith(federation.idp.url + "/sso?SAMLRequest=")


def test_a_login_hint_at_the_authoritys_domain_goes_to_its_idp(
    saml_factory: Factory,  # noqa: F811
) -> None:
    federation = saml_factory(lambda idp: [saml_entry(idp, default=None, domains=["corp.example"])])
    with browser(federation.konnect.url) as client:
        sso = to_idp(client, federation, login_hint="jonas@corp.example")
        code_after_sign_in(client, post_answer(client, *answer_from_idp(sso)))
