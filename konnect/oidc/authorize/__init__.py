"""The authorization endpoint, one module per step (`endpoint` runs them in order):

- `request`: the client, its redirect_uri and the parsed request (PKCE in `konnect.oidc.pkce`)
- `signin`: who is signed in (guests in `konnect.oidc.guest`), or where to sign in
- `consent`: the scopes the user approved
- `respond`: the response, or the error, in the client's response mode
The handler in `konnect.oidc.endpoints` only translates the `Outcome` into HTTP.
"""

from konnect.oidc.authorize.endpoint import authorize
from konnect.oidc.authorize.outcome import Outcome
from konnect.oidc.authorize.request import RESPONSE_MODES, RESPONSE_TYPES
from konnect.oidc.authorize.respond import redirect_with

__all__ = [
    "RESPONSE_MODES",
    "RESPONSE_TYPES",
    "Outcome",
    "authorize",
    "redirect_with",
]
