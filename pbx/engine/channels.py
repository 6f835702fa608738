"""Channels per company number (the plan's concurrent calls), across every engine node.

Each call on a capped number takes a lease in a shared store (Redis in production)
before it rings anyone; the lease is given back when the call ends and renewed while it
lasts, so a crashed node's channels free themselves when its leases lapse. With the
store unreachable the node counts only its own calls: a plan limit must never drop a
call because Redis hiccupped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pbx.logging import get_logger

log = get_logger(__name__)


class ChannelLeases(Protocol):
    async def take(self, number_id: int, call_id: str, limit: int) -> bool:
        """Take a channel of the number unless `limit` are held; idempotent per call."""
        ...

    async def give_back(self, number_id: int, call_id: str) -> None: ...

    async def renew(self, held: Mapping[str, int]) -> None:
        """Extend the leases of these calls (call id → number id)."""
        ...


class ChannelGate:
    """This node's side of the leases: which of its calls hold a channel."""

    def __init__(self, leases: ChannelLeases | None) -> None:
        self.leases = leases
        self.held: dict[str, int] = {}  # call id → number id

    async def admit(self, call_id: str, number_id: int, limit: int, local_busy: int) -> bool:
        """May this call use the number? `local_busy`: this node's other calls on it."""
        if self.leases is not None:
            try:
                taken = await self.leases.take(number_id, call_id, limit)
            except Exception as exc:
                log.warning("channel_leases_failed", error=repr(exc))
            else:
                if taken:
                    self.held[call_id] = number_id
                return taken
        return local_busy < limit

    async def release(self, call_id: str) -> None:
        number_id = self.held.pop(call_id, None)
        if number_id is None or self.leases is None:
            return
        try:
            await self.leases.give_back(number_id, call_id)
        except Exception as exc:  # the lease lapses by itself
            log.warning("channel_release_failed", error=repr(exc))

    async def renew(self) -> None:
        if self.leases is None or not self.held:
            return
        try:
            await self.leases.renew(dict(self.held))
        except Exception as exc:
            log.warning("channel_renew_failed", error=repr(exc))
