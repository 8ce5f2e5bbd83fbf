"""The small shared state the protocol demands (single-use marks, revocations, counters).

`StateStore` is the seam; `MemoryStateStore` is the embedded default. May import: config.
"""

from konnect.state.base import StateStore, StateStoreUnavailable
from konnect.state.memory import MemoryStateStore

__all__ = ["MemoryStateStore", "StateStore", "StateStoreUnavailable"]
