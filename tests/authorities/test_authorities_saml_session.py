"""A SAML identity provider's `SessionNotOnOrAfter` (pysaml2's IdP issuing it) ends the konnect
sign-in it started at that time, also when the sign-in was kept alive in between; an answer
whose session has already ended signs no one in."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from konnect.http.app import Overrides
from tests.authorities.saml_setup import (  # noqa: F401
    SamlFederation,
    post_answer,
    query_of,
    saml_factory,
    to_idp,
)
from tests.authorities.test_authorities_saml import refused
from tests.authorities.test_authorities_saml_logout import still_signed_in
from tests.authorities.test_authorities_signin import code_after_sign_in
from tests.conftest import Clock, browser

Factory = Callable[..., SamlFederation]
SESSION = 300


def _instant(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _sign_in(client: httpx.Client, federation: SamlFederation, session_end: str | None) -> None:
    idp = federation.idp.in_process()
    query = query_of(to_idp(client, federation))
    action, response = idp.answer(idp.request(query), session_not_on_or_after=session_end)
    fields = {"SAMLResponse": response, "RelayState": query["RelayState"]}
    code_after_sign_in(client, post_answer(client, action, fields))


def test_the_sign_in_ends_when_the_idps_session_does(saml_factory: Factory) -> None:  # noqa: F811
    clock = Clock(time.time())
    federation = saml_factory(overrides=Overrides(clock=clock))
    with browser(federation.konnect.url) as limited, browser(federation.konnect.url) as unlimited:
        _sign_in(limited, federation, _instant(clock.now + SESSION))
        _sign_in(unlimited, federation, None)
        clock.advance(SESSION - 100)  # used in between: the cookie is rewritten, its end kept
        assert still_signed_in(limited)
        clock.advance(101)
        assert not still_signed_in(limited)
        assert still_signed_in(unlimited)
        # Without prompt=none the browser goes to the identity provider to sign in again.
        assert to_idp(limited, federation).startswith(federation.idp.url + "/sso?")
        _sign_in(limited, federation, _instant(clock.now + SESSION))
        assert still_signed_in(limited)


def test_an_answer_whose_idp_session_has_ended_is_refused(saml_factory: Factory) -> None:  # noqa: F811
    # konnect's clock is past the session's end; the answer is otherwise valid.
    clock = Clock(time.time() + 200)
    federation = saml_factory(overrides=Overrides(clock=clock))
    idp = federation.idp.in_process()
    with browser(federation.konnect.url) as client:
        query = query_of(to_idp(client, federation))
        ended = _instant(time.time() + 100)
        action, response = idp.answer(idp.request(query), session_not_on_or_after=ended)
        refused(client, federation, action, response, query["RelayState"])
