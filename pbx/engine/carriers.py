"""Keeps the engine's source guard (pbx/sip/guard.py) told which addresses are carriers.

The set is rebuilt from the trunks table at start, whenever a trunk change is announced
and every `REFRESH` seconds; a source the guard does not know is looked up here (a trunk
added on another node a moment ago), so a new carrier is let in by its first
retransmission at the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pbx.logging import get_logger
from pbx.sip.guard import SourceGuard
from pbx.sip.resolver import is_address
from storage.directory import PgDirectory

log = get_logger(__name__)

REFRESH = 60.0


class CarrierTrust:
    def __init__(
        self,
        directory: PgDirectory,
        guard: SourceGuard,
        resolve: Callable[[str], Awaitable[str | None]],
    ) -> None:
        self.directory = directory
        self.guard = guard
        self.resolve = resolve
        self._known: frozenset[str] = frozenset()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._checks: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        """Start taking the guard's unknown sources (call on the event loop)."""
        self._loop = asyncio.get_running_loop()
        self.guard.on_unknown = self._unknown_from_thread

    async def refresh(self) -> None:
        hosts = await self.directory.carrier_hosts()
        names = sorted(h for h in hosts if not is_address(h))
        found = await asyncio.gather(*(self.resolve(n) for n in names))
        known = frozenset({h for h in hosts if is_address(h)} | {a for a in found if a})
        if known != self._known:
            log.info("carrier_sources", count=len(known))
        self._known = known
        self.guard.trust_carriers(known)
        self.guard.forget_expired()

    def _unknown_from_thread(self, host: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._check_soon, host)

    def _check_soon(self, host: str) -> None:
        task = asyncio.ensure_future(self._check(host))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check(self, host: str) -> None:
        try:
            if host in self._known or not await self.directory.trunks_from(host):
                return
        except Exception as exc:  # the database away: the periodic refresh tries again
            log.warning("carrier_check_failed", source=host, error=repr(exc))
            return
        self._known = self._known | {host}
        self.guard.trust_carriers(self._known)
        log.info("carrier_source_added", source=host)
