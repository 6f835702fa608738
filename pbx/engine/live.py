"""The live board: every engine node publishes its calls in progress (who rings, who
talks, in which state) so that `/now` in the bot shows the whole company at once.

Publishing never delays or breaks a call: snapshots go through one queue drained by one
task (so a call's "ended" can never be overtaken by an older "ringing"), and a store
error is logged and forgotten.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pbx.engine.states import CallState
from pbx.logging import get_logger

if TYPE_CHECKING:
    from pbx.engine.calls import Call

log = get_logger(__name__)


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    direction: str
    caller: str
    callee: str
    state: str
    since: str  # ISO time the call started
    ringing: tuple[int, ...]  # employee ids whose phones ring now
    talking: tuple[int, ...]  # employee ids in the conversation
    target: str  # the scenario step ("group:sales", "menu:main", "queue:support")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveCall:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        fields["ringing"] = tuple(fields["ringing"])
        fields["talking"] = tuple(fields["talking"])
        return cls(**fields)

    @property
    def started_at(self) -> datetime:
        return datetime.fromisoformat(self.since)


Change = tuple[int, str, "LiveCall | None"]  # company, call id, entry (None: ended)


class LiveBoard(Protocol):
    async def apply(self, changes: list[Change]) -> None:
        """Write the calls' latest states (in one round trip where the store can)."""
        ...


def snapshot(call: Call) -> tuple[int, LiveCall] | None:
    """The call as the board shows it, with its company (None: nobody's to show)."""
    d = call.decision
    if d is None or d.company_id is None or d.direction is None:
        return None
    ringing: tuple[int, ...] = ()
    if call.ring is not None and call.state is not CallState.ANSWERED:
        ringing = tuple(sorted({leg.key for leg in call.ring.live.values() if leg.key}))
    talking = tuple(
        e
        for e in (d.caller_employee_id, call.answered.key if call.answered else None)
        if e and call.state is CallState.ANSWERED
    )
    entry = LiveCall(
        call_id=call.offer.call_id,
        direction=str(d.direction),
        caller=d.caller,
        callee=d.callee,
        state=str(call.state),
        since=call.started_at.isoformat(),
        ringing=ringing,
        talking=talking,
        target=call.target,
    )
    return d.company_id, entry


class LivePublisher:
    def __init__(self, board: LiveBoard | None) -> None:
        self.board = board
        self._queue: asyncio.Queue[Change] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def publish(self, call: Call) -> None:
        """Show the call as it is now, or remove it once it ended."""
        if self.board is None:
            return
        snap = snapshot(call)
        if snap is None:
            return
        company_id, entry = snap
        ended = call.state is CallState.ENDED
        self._queue.put_nowait((company_id, entry.call_id, None if ended else entry))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        assert self.board is not None
        while not self._queue.empty():
            # Everything queued so far, only each call's latest state, in one write.
            latest: dict[tuple[int, str], LiveCall | None] = {}
            while not self._queue.empty():
                company_id, call_id, entry = self._queue.get_nowait()
                latest.pop((company_id, call_id), None)  # keep the order of last changes
                latest[(company_id, call_id)] = entry
            changes = [(c, call_id, e) for (c, call_id), e in latest.items()]
            try:
                await self.board.apply(changes)
            except Exception as exc:  # advisory: a Redis hiccup must not touch calls
                log.warning("live_board_failed", calls=len(changes), error=repr(exc))

    async def idle(self) -> None:
        """Wait until everything published so far is on the board (tests)."""
        if self._worker is not None:
            await asyncio.shield(self._worker)
