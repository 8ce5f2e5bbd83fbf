"""What a SAML identity provider's answer must show before konnect believes it.

pysaml2 (with `xmlsec1`) checks the XML signature with the certificate of the identity
provider's metadata and refuses an answer whose response and assertion are both unsigned, a
second assertion, and the times of the assertion. On top of that, checked here on what the
signature covered: the answer is for the AuthnRequest this browser sent (`InResponseTo` of the
response and of the subject confirmation), from this identity provider, for konnect (audience
= our entity id, destination and recipient = our ACS URL), and valid now. The authentication
statement's `SessionNotOnOrAfter`, when the identity provider sets one, is when the sign-in it
starts here must end; an answer whose session has already ended is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from saml2 import BINDING_HTTP_POST

from konnect.authorities.saml_upstream import LEEWAY, SamlClient

BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"


class AnswerRefused(Exception):
    """The answer fails a check; the message is for the log only."""


@dataclass(frozen=True)
class SamlIdentity:
    """What a checked answer says: who, in which session at the IdP, and until when."""

    assertion_id: str
    name_id: str
    name_id_format: str
    session_index: str
    attributes: Mapping[str, str]  # single-valued attributes by FriendlyName and Name
    valid_until: int
    session_not_after: int = 0  # the IdP's SessionNotOnOrAfter; 0 when it sets none


def parsed(client: SamlClient, saml_response: str, request_id: str) -> Any:
    """pysaml2's reading of the base64 SAMLResponse, signature checked (blocks: run it in a
    worker thread); AnswerRefused otherwise."""
    try:
        answer = client.saml2.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: ""}
        )
    # pysaml2 signals a refused answer with many kinds of exceptions, none of them shared.
    except Exception as exc:
        raise AnswerRefused(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if answer is None or answer.assertion is None:
        raise AnswerRefused("no assertion")
    return answer


def checked(answer: Any, client: SamlClient, request_id: str, now: float) -> SamlIdentity:
    """The sign-in the parsed answer states, once every check passes."""
    response, assertion = answer.response, answer.assertion
    if len(response.assertion) != 1 or response.encrypted_assertion:
        raise AnswerRefused("not exactly one plain assertion")
    if response.in_response_to != request_id:
        raise AnswerRefused("the response answers another request")
    if response.destination is not None and response.destination != client.sp.acs_url:
        raise AnswerRefused("the response is meant for another destination")
    issuers = {_text(assertion.issuer)} | ({_text(response.issuer)} if response.issuer else set())
    if issuers != {client.idp_entity_id}:
        raise AnswerRefused("issued by another identity provider")
    _check_audience(assertion, client.sp.entity_id)
    confirmed_until = _check_confirmation(assertion, client.sp.acs_url, request_id, now)
    valid_until = min(confirmed_until, _check_conditions(assertion, now))
    statement = assertion.authn_statement[0] if assertion.authn_statement else None
    if statement is None:
        raise AnswerRefused("no authentication statement")
    session_not_after = _instant(statement.session_not_on_or_after) or 0
    if session_not_after and session_not_after <= now:
        raise AnswerRefused("the session at the identity provider has ended")
    name_id = assertion.subject.name_id
    return SamlIdentity(
        assertion_id=str(assertion.id),
        name_id=_text(name_id),
        name_id_format=str(getattr(name_id, "format", "") or ""),
        session_index=str(statement.session_index or ""),
        attributes=_attributes(assertion),
        valid_until=valid_until,
        session_not_after=session_not_after,
    )


def _check_audience(assertion: Any, entity_id: str) -> None:
    conditions = assertion.conditions
    restrictions = conditions.audience_restriction if conditions is not None else []
    if not restrictions:
        raise AnswerRefused("no audience restriction")
    for restriction in restrictions:
        if entity_id not in {_text(audience) for audience in restriction.audience}:
            raise AnswerRefused("meant for another audience")


def _check_confirmation(assertion: Any, acs_url: str, request_id: str, now: float) -> int:
    """The bearer confirmation for this request at our ACS; when it stops being valid."""
    for confirmation in assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if confirmation.method != BEARER or data is None:
            continue
        if data.recipient != acs_url:
            raise AnswerRefused("the assertion is meant for another recipient")
        if data.in_response_to != request_id:
            raise AnswerRefused("the assertion answers another request")
        until = _instant(data.not_on_or_after)
        if until is None or until <= now - LEEWAY:
            raise AnswerRefused("the subject confirmation expired")
        return until
    raise AnswerRefused("no bearer subject confirmation")


def _check_conditions(assertion: Any, now: float) -> int:
    conditions = assertion.conditions
    not_before = _instant(conditions.not_before)
    if not_before is not None and not_before > now + LEEWAY:
        raise AnswerRefused("the assertion is not valid yet")
    until = _instant(conditions.not_on_or_after)
    if until is not None and until <= now - LEEWAY:
        raise AnswerRefused("the assertion expired")
    return until if until is not None else int(now) + LEEWAY


def _attributes(assertion: Any) -> dict[str, str]:
    """Attributes with exactly one value, by FriendlyName and by Name."""
    found: dict[str, str] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            values = [_text(value) for value in attribute.attribute_value]
            if len(values) != 1 or not values[0]:
                continue
            for key in (attribute.friendly_name, attribute.name):
                if key:
                    found.setdefault(str(key), values[0])
    return found


def _instant(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AnswerRefused(f"unreadable time {value[:40]!r}") from None
    return int((instant if instant.tzinfo else instant.replace(tzinfo=UTC)).timestamp())


def _text(element: object) -> str:
    text = getattr(element, "text", None)
    return text.strip() if isinstance(text, str) else ""
