"""Call logic: one `Call` per leg A, explicit states, one call record at the end.

Driven by adapter events (pbx.engine.events); issues commands through the
`Signalling` protocol; time comes from a `Clock`, so unit tests run it with a fake
adapter and a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pbx.engine.events import (
    CalleeGone,
    CallerGone,
    CallOffered,
    EngineDied,
    EngineEvent,
    LegAnswered,
    LegFailed,
    LegRinging,
    Signalling,
    TrunkRegistration,
)
from pbx.engine.routing import Decision, Dial, Direction, Reject, Router
from pbx.errors import EngineUnavailable
from pbx.logging import get_logger

log = get_logger(__name__)


class CallState(StrEnum):
    ROUTING = "routing"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class Result(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no_answer"


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)


@dataclass
class CallRecord:
    """What the calls table stores: one row per call, written once."""

    sip_call_id: str
    company_id: int
    direction: Direction
    caller: str
    callee: str
    started_at: datetime
    ended_at: datetime
    result: Result
    hangup_cause: str
    sip_code: int | None
    answered_at: datetime | None = None
    caller_employee_id: int | None = None
    callee_employee_id: int | None = None
    trunk_id: int | None = None
    number_id: int | None = None
    caller_uri: str = ""
    callee_uri: str = ""
    callee_started_at: datetime | None = None


RecordSink = Callable[[CallRecord], Awaitable[None]]


class Presence(Protocol):
    """Shared "on a call" state (Redis in production)."""

    async def busy(self, company_id: int, employee_ids: list[int], on: bool) -> None: ...


def failure_response(code: int) -> tuple[int, str, Result, str]:
    """Map a callee's final response to what the caller gets and how it is recorded.

    The edge answers 404 for a device that is not registered: the caller must hear
    "temporarily unavailable" (480), not "no such number".
    """
    if code in (486, 600):
        return 486, "Busy Here", Result.BUSY, "busy"
    if code == 603:
        return 603, "Decline", Result.BUSY, "declined"
    if code == 404:
        return 480, "Temporarily Unavailable", Result.FAILED, "unregistered"
    if code in (408, 480):
        return 480, "Temporarily Unavailable", Result.NO_ANSWER, "no_answer"
    if code in (401, 403, 407):
        return 403, "Forbidden", Result.FAILED, f"rejected_{code}"
    if 500 <= code < 600:
        return 503, "Service Unavailable", Result.FAILED, f"callee_error_{code}"
    return 480, "Temporarily Unavailable", Result.FAILED, f"callee_failed_{code}"


@dataclass
class Call:
    offer: CallOffered
    started_at: datetime
    state: CallState = CallState.ROUTING
    decision: Decision | None = None
    leg_id: str | None = None
    leg_started_at: datetime | None = None
    answered_at: datetime | None = None
    timer: TimerHandle | None = None
    legs_made: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class CallManager:
    """Owns every live call of this engine node and turns events into commands."""

    def __init__(
        self,
        signalling: Signalling,
        router: Router,
        record: RecordSink,
        clock: Clock | None = None,
        no_answer_timeout: float = 30.0,
        presence: Presence | None = None,
    ) -> None:
        self.signalling = signalling
        self.router = router
        self.record = record
        self.clock = clock or SystemClock()
        self.no_answer_timeout = no_answer_timeout
        self.presence = presence
        self.calls: dict[str, Call] = {}
        self.engine_dead: str | None = None
        # Set when the service is stopping: hang-ups that follow are ours, not the users'.
        self.stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- intake ---------------------------------------------------------------
    def on_event(self, event: EngineEvent) -> None:
        """Called on the asyncio loop for every adapter event; never blocks."""
        self._spawn(self.handle(event))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call_logic_failed", error=repr(task.exception()))

    async def drain(self) -> None:
        """Wait until every handler spawned so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def handle(self, event: EngineEvent) -> None:
        if isinstance(event, EngineDied):
            await self._engine_died(event.reason)
            return
        if isinstance(event, CallOffered):
            await self._offered(event)
            return
        if isinstance(event, TrunkRegistration):
            return  # the service keeps trunk state; nothing to do for calls
        call = self.calls.get(event.call_id)
        if call is None or call.state is CallState.ENDED:
            return
        if isinstance(event, LegRinging) and event.leg_id == call.leg_id:
            if call.state is CallState.DIALING:
                call.state = CallState.RINGING
        elif isinstance(event, LegAnswered) and event.leg_id == call.leg_id:
            self._cancel_timer(call)
            call.state = CallState.ANSWERED
            call.answered_at = self.clock.now()
            await self._mark_busy(call, True)
        elif isinstance(event, LegFailed) and event.leg_id == call.leg_id:
            await self._leg_failed(call, event.code)
        elif isinstance(event, CallerGone | CalleeGone) and self.stopping:
            await self._end_all("shutdown", call)
        elif isinstance(event, CallerGone):
            if call.state is CallState.ANSWERED:
                await self._finish(call, Result.ANSWERED, "caller_hangup", 200)
            else:
                await self._finish(call, Result.MISSED, "caller_cancel", 487)
        elif isinstance(event, CalleeGone) and event.leg_id == call.leg_id:
            await self._finish(call, Result.ANSWERED, "callee_hangup", 200)

    # --- steps ------------------------------------------------------------------
    async def _offered(self, offer: CallOffered) -> None:
        if offer.call_id in self.calls:
            return
        call = Call(offer=offer, started_at=self.clock.now())
        self.calls[offer.call_id] = call
        try:
            decision = await self.router.route(offer)
        except Exception as exc:  # a database outage must not leave the caller hanging
            log.error("routing_failed", call_id=offer.call_id, error=repr(exc))
            decision = Reject(503, "Service Unavailable", "routing_error")
        call.decision = decision
        if call.state is CallState.ENDED:
            return  # the caller hung up while we were looking things up
        if isinstance(decision, Reject):
            await self._command(
                self.signalling.reject(offer.call_id, decision.code, decision.reason)
            )
            result = Result.BUSY if decision.code == 486 else Result.FAILED
            await self._finish(call, result, decision.cause, decision.code)
            return
        await self._dial(call, decision)

    async def _dial(self, call: Call, dial: Dial) -> None:
        call.legs_made += 1
        call.leg_id = f"b{call.legs_made}"
        call.leg_started_at = self.clock.now()
        call.state = CallState.DIALING
        call.timer = self.clock.call_later(
            self.no_answer_timeout, lambda: self._spawn(self._no_answer(call))
        )
        await self._command(self.signalling.originate(call.offer.call_id, call.leg_id, dial.target))

    async def _no_answer(self, call: Call) -> None:
        if call.state not in (CallState.DIALING, CallState.RINGING) or call.leg_id is None:
            return
        call.timer = None
        leg_id = call.leg_id
        call.leg_id = None  # the CANCEL's 487 is ours, not news
        await self._command(self.signalling.cancel_leg(call.offer.call_id, leg_id))
        await self._command(self.signalling.reject(call.offer.call_id, 480, "No Answer"))
        await self._finish(call, Result.NO_ANSWER, "no_answer_timeout", 480)

    async def _leg_failed(self, call: Call, code: int) -> None:
        self._cancel_timer(call)
        dial = call.decision
        if (
            code == 404
            and isinstance(dial, Dial)
            and dial.fallback is not None
            and call.legs_made == 1
        ):
            # No phone registered: forward to the mobile as the employee asked.
            call.decision = replace(dial, target=dial.fallback, fallback=None)
            await self._dial(call, call.decision)
            return
        reply, reason, result, cause = failure_response(code)
        await self._command(self.signalling.reject(call.offer.call_id, reply, reason))
        await self._finish(call, result, cause, code)

    async def _engine_died(self, reason: str) -> None:
        self.engine_dead = reason
        for call in list(self.calls.values()):
            await self._end_all("engine_died", call)

    async def shutdown(self) -> None:
        """Record calls still live when the service stops (the adapter hangs them up)."""
        self.stopping = True
        await self.drain()
        for call in list(self.calls.values()):
            await self._end_all("shutdown", call)

    async def _end_all(self, cause: str, call: Call) -> None:
        answered = call.state is CallState.ANSWERED
        await self._finish(call, Result.ANSWERED if answered else Result.FAILED, cause, None)

    async def _mark_busy(self, call: Call, on: bool) -> None:
        d = call.decision
        if self.presence is None or not isinstance(d, Dial):
            return
        people = [e for e in (d.caller_employee_id, d.callee_employee_id) if e is not None]
        try:
            await self.presence.busy(d.company_id, people, on)
        except Exception as exc:  # presence is advisory; a Redis hiccup must not drop a call
            log.warning("presence_failed", error=repr(exc))

    async def _command(self, command: Awaitable[None]) -> None:
        try:
            await command
        except EngineUnavailable as exc:
            log.error("engine_unavailable", error=str(exc))

    def _cancel_timer(self, call: Call) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    async def _finish(self, call: Call, result: Result, cause: str, code: int | None) -> None:
        if call.state is CallState.ENDED:
            return
        was_answered = call.state is CallState.ANSWERED
        call.state = CallState.ENDED
        self._cancel_timer(call)
        self.calls.pop(call.offer.call_id, None)
        if was_answered:
            await self._mark_busy(call, False)
        try:
            record = self._record_of(call, result, cause, code)
            if record is not None:
                await self.record(record)
        except Exception as exc:
            log.error("call_record_failed", call_id=call.offer.call_id, error=repr(exc))
        finally:
            call.done.set()

    def _record_of(
        self, call: Call, result: Result, cause: str, code: int | None
    ) -> CallRecord | None:
        d = call.decision
        company_id = d.company_id if d is not None else None
        if d is None or company_id is None or d.direction is None:
            return None  # nobody to bill or show it to: a stranger was refused
        offer = call.offer
        return CallRecord(
            sip_call_id=offer.call_id,
            company_id=company_id,
            direction=d.direction,
            caller=d.caller,
            callee=d.callee,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=self.clock.now(),
            result=result,
            hangup_cause=cause,
            sip_code=code,
            caller_employee_id=d.caller_employee_id,
            callee_employee_id=d.callee_employee_id if isinstance(d, Dial) else None,
            trunk_id=d.trunk_id,
            number_id=d.number_id,
            caller_uri=f"sip:{offer.from_user}@{offer.from_host}",
            callee_uri=(f"sip:{d.target.user}@{d.target.host}" if isinstance(d, Dial) else ""),
            callee_started_at=call.leg_started_at,
        )
