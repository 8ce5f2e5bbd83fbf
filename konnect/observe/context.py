"""Who the current request is: its id and the client's address, for logs and audit events.

The request middleware sets both once per request; anything that logs or audits reads them
from here, so no layer has to pass a request around for that.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("konnect_request_id", default="")
client_ip: ContextVar[str] = ContextVar("konnect_client_ip", default="")
