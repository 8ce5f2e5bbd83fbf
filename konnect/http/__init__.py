"""The HTTP application: the composition root, routes, error handlers and the server.

May import every other konnect package except cli.
"""

from konnect.http.app import create_app

__all__ = ["create_app"]
