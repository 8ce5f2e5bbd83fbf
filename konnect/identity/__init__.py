"""Identity backends: the capability protocols, the user model and the backend registry.

Also the users file editor behind `konnectd users` (users_admin), and the users who exist
only at an upstream authority (upstream_users).

A backend answers "who is this" questions and nothing else: it never sees HTTP. Wrong
credentials are a `None` result; a broken backend raises `BackendUnavailable`.
May import: config, crypto, outgoing.
"""

from konnect.identity.base import (
    AccountCountedLogon,
    BackendUnavailable,
    BrowserSignIn,
    IdentityBackend,
    PasswordLogon,
    User,
    UserLookup,
    UsernameLookup,
)
from konnect.identity.registry import create_backend
from konnect.identity.upstream_users import (
    UPSTREAM_PROVIDER,
    UpstreamUsers,
    provider_tag,
    upstream_subject,
)

__all__ = [
    "UPSTREAM_PROVIDER",
    "AccountCountedLogon",
    "BackendUnavailable",
    "BrowserSignIn",
    "IdentityBackend",
    "PasswordLogon",
    "UpstreamUsers",
    "User",
    "UserLookup",
    "UsernameLookup",
    "create_backend",
    "provider_tag",
    "upstream_subject",
]
