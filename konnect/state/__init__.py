"""The small shared state the protocol demands (single-use marks, revocations, counters).

`StateStore` is the seam: `SqliteStateStore` (sqlite_store) is the embedded default, a file;
`RedisStateStore` (redis_store) serves several instances; `MemoryStateStore` is for tests.
May import: config.
"""

from konnect.state.base import StateStore, StateStoreUnavailable
from konnect.state.memory import MemoryStateStore

__all__ = ["MemoryStateStore", "StateStore", "StateStoreUnavailable"]
