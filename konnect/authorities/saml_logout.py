"""SAML single logout messages over the redirect binding, made and read with pysaml2.

A LogoutRequest from the identity provider ends a sign-in here only when its redirect
signature checks with the identity provider's metadata certificate, it comes from that
identity provider, is addressed to our single logout URL, and names the browser's session
there. These calls block (XML, signatures): run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from saml2 import BINDING_HTTP_REDIRECT
from saml2.saml import NameID
from saml2.sigver import RSACrypto, verify_redirect_signature

from konnect.authorities.saml_upstream import SamlClient


class LogoutRefused(Exception):
    """A single logout message konnect does not act on; the message is for the log only."""


@dataclass(frozen=True)
class SamlSession:
    """The identity provider's sign-in a browser holds, for single logout."""

    authority: str
    name_id: str
    name_id_format: str
    session_index: str


def logout_request(client: SamlClient, session: SamlSession, relay_state: str) -> tuple[str, str]:
    """A LogoutRequest for the session: its id and the URL that carries it."""
    name_id = NameID(text=session.name_id, format=session.name_id_format or None)
    indexes = [session.session_index] if session.session_index else None
    request_id, request = client.saml2.create_logout_request(
        client.slo_url, client.idp_entity_id, name_id=name_id, session_indexes=indexes, sign=False
    )
    info = client.saml2.apply_binding(
        BINDING_HTTP_REDIRECT, str(request), client.slo_url, relay_state, sign=False
    )
    return str(request_id), dict(info["headers"])["Location"]


def logout_status(client: SamlClient, params: Mapping[str, str], request_id: str) -> str:
    """The status of the identity provider's LogoutResponse to our request `request_id`."""
    try:
        answer = client.saml2.parse_logout_request_response(
            params.get("SAMLResponse", ""), BINDING_HTTP_REDIRECT
        )
    # pysaml2 signals an unreadable message with many kinds of exceptions.
    except Exception as exc:
        raise LogoutRefused(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if answer is None or answer.response.in_response_to != request_id:
        raise LogoutRefused("the LogoutResponse answers another request")
    if _issuer(answer.response) != client.idp_entity_id:
        raise LogoutRefused("the LogoutResponse comes from another identity provider")
    status = answer.response.status.status_code.value if answer.response.status else ""
    return str(status)


def answer_logout(
    client: SamlClient, params: Mapping[str, str], session: SamlSession | None
) -> tuple[str, bool]:
    """The LogoutResponse URL for the identity provider's LogoutRequest, and whether that
    request names `session` (then the sign-in here ends too)."""
    if not redirect_signature_valid(client, params, "SAMLRequest"):
        raise LogoutRefused("the LogoutRequest is not signed by the identity provider")
    try:
        request = client.saml2.parse_logout_request(params["SAMLRequest"], BINDING_HTTP_REDIRECT)
    # pysaml2 signals an unreadable message with many kinds of exceptions.
    except Exception as exc:
        raise LogoutRefused(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    message = request.message if request is not None else None
    if message is None or _issuer(message) != client.idp_entity_id:
        raise LogoutRefused("the LogoutRequest comes from another identity provider")
    if message.destination != client.sp.slo_url:
        raise LogoutRefused("the LogoutRequest is meant for another destination")
    if not client.slo_url:
        raise LogoutRefused("the identity provider has no redirect binding logout service")
    ends = session is not None and _names(message, session)
    response = client.saml2.create_logout_response(message, [BINDING_HTTP_REDIRECT])
    info = client.saml2.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        response.destination or client.slo_url,
        params.get("RelayState", ""),
        response=True,
        sign=False,
    )
    return dict(info["headers"])["Location"], ends


def redirect_signature_valid(client: SamlClient, params: Mapping[str, str], kind: str) -> bool:
    """The redirect binding's signature over `kind` (SAMLRequest or SAMLResponse), checked
    with a signing certificate of the identity provider's metadata."""
    if not params.get(kind) or not params.get("Signature") or not params.get("SigAlg"):
        return False
    fields = (kind, "RelayState", "SigAlg", "Signature")
    message = {key: params[key] for key in fields if key in params}
    backend = RSACrypto(None)  # verifies with the certificate given; konnect has no SAML key
    for _name, cert in client.saml2.metadata.certs(client.idp_entity_id, "idpsso", "signing"):
        try:
            if verify_redirect_signature(message, backend, cert):
                return True
        # pysaml2 raises assorted errors for unusable signatures and algorithms.
        except Exception:  # noqa: S112
            continue
    return False


def _names(message: object, session: SamlSession) -> bool:
    name_id = getattr(message, "name_id", None)
    if name_id is None or (name_id.text or "").strip() != session.name_id:
        return False
    indexes = [(item.text or "").strip() for item in getattr(message, "session_index", [])]
    return not indexes or session.session_index in indexes


def _issuer(message: object) -> str:
    issuer = getattr(message, "issuer", None)
    text = getattr(issuer, "text", None)
    return text.strip() if isinstance(text, str) else ""
