"""konnect: an async OpenID Connect provider, compatible with Kopano Konnect."""

__version__ = "0.1.0"
