"""The LDAP identity backend (`serve ... ldap`): settings, search filters, pure entry rules,
requests on the wire, pooled directory access in worker threads, and the async backend the
provider talks to."""

from konnect.identity.ldap.backend import BACKEND_NAME, LdapBackend
from konnect.identity.ldap.settings import LdapSettings, load_ldap_settings

__all__ = ["BACKEND_NAME", "LdapBackend", "LdapSettings", "load_ldap_settings"]
