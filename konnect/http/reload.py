"""Live reload: the app that serves requests, swapped whole once a new one was built.

A request runs entirely on the app that was current when it arrived, so it sees either the
old or the new configuration, never a mix. A build that fails leaves the running app in place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from konnect.config.errors import ConfigError

log = logging.getLogger("konnect")


class ReloadingApp:
    """Serves through `current`; `reload()` builds a replacement with `rebuild` and swaps it in."""

    def __init__(
        self,
        current: ASGIApp,
        rebuild: Callable[[], ASGIApp],
        audit: Callable[[str, str], None] = lambda outcome, detail: None,
    ) -> None:
        self.current = current
        self._rebuild = rebuild
        self._audit = audit
        self._one_at_a_time = asyncio.Lock()
        self._pending: set[asyncio.Task[bool]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.current(scope, receive, send)

    async def reload(self) -> bool:
        """Read the files again; True when the new configuration serves from now on."""
        async with self._one_at_a_time:
            try:
                # Off the event loop: reading files and keys must not stall requests.
                replacement = await asyncio.to_thread(self._rebuild)
            except ConfigError as error:
                log.error("RELOAD FAILED, the running configuration stays:")
                for problem in error.problems:
                    log.error("  %s", problem)
                self._audit("failure", "; ".join(error.problems))
                return False
            except Exception:
                log.exception("RELOAD FAILED, the running configuration stays")
                self._audit("failure", "unexpected error")
                return False
            self.current = replacement
            log.info("configuration reloaded")
            self._audit("success", "")
            return True

    def reload_soon(self) -> None:
        """Start a reload on the running loop; the entry point of a signal handler."""
        task = asyncio.get_running_loop().create_task(self.reload())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
