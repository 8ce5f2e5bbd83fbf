"""Observing konnect: Prometheus metrics, the audit log, request ids and secret-free logs.

Every layer reports through `Events`, one call per event; this package imports nothing of
konnect's own but itself, so any layer may use it.
"""

from konnect.observe.audit import AuditLog
from konnect.observe.events import Events

__all__ = ["AuditLog", "Events"]
