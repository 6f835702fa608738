"""Call logic: one `Call` per leg A, explicit states, one call record at the end.

Driven by adapter events (pbx.engine.events); issues commands through the
`Signalling` protocol; time comes from a `Clock`, so unit tests run it with a fake
adapter and a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pbx.engine.channels import ChannelGate, ChannelLeases
from pbx.engine.dialout import A_LEG, DialOutRunner, DialOutState
from pbx.engine.events import (
    CalleeGone,
    CallerAnswered,
    CallerGone,
    CallOffered,
    DtmfReceived,
    EngineDied,
    EngineEvent,
    LegAnswered,
    LegFailed,
    LegRinging,
    RecordingDone,
    Signalling,
    TrunkRegistration,
)
from pbx.engine.live import LiveBoard, LivePublisher
from pbx.engine.plans import NumberPlan, QueueStore, Scenarios
from pbx.engine.queue import QueueRunner
from pbx.engine.recording import CallRecorder, RecordingPolicy
from pbx.engine.records import (
    CallRecord,
    Clock,
    Presence,
    RecordSink,
    SystemClock,
    TimerHandle,
    failure_response,
)
from pbx.engine.ringing import Leg, Reach, Ring, RingOutcome, single
from pbx.engine.routing import Decision, Dial, Inbound, Reject, Router, channels_busy
from pbx.engine.scenario import ScenarioRunner
from pbx.engine.states import CallState, Result
from pbx.errors import EngineUnavailable
from pbx.logging import get_logger

log = get_logger(__name__)


# What to do when nobody answered: (call, outcome, the last failure code).
AfterRing = Callable[["Call", RingOutcome, int | None], Awaitable[None]]


@dataclass
class Call:
    offer: CallOffered
    started_at: datetime
    state: CallState = CallState.ROUTING
    decision: Decision | None = None
    ring: Ring | None = None
    after_ring: AfterRing | None = None
    ring_timers: list[TimerHandle] = field(default_factory=list)
    legs_made: int = 0
    first_leg_at: datetime | None = None
    answered_at: datetime | None = None
    answered: Leg | None = None
    caller_answered: bool = False  # the engine answered leg A itself
    caller_early: bool = False  # the engine plays to leg A as early media (183, no answer)
    caller_gone: bool = False
    plan: NumberPlan | None = None  # the number's scenario, for inbound calls
    # The scenario's pending timers by purpose ("step", "tick"): a new one replaces
    # the old one of the same purpose; an answer or the end cancels them all.
    timers: dict[str, TimerHandle] = field(default_factory=dict)
    on_answer: Callable[[], Awaitable[None]] | None = None
    flow: Any = None  # the scenario step's own state (pbx.engine.scenario)
    target: str = ""
    concerned: set[int] = field(default_factory=set)
    lang: str = "en"
    result: Result | None = None  # set by a step that decides the outcome (voicemail)
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
        scenarios: Scenarios | None = None,
        queue_store: QueueStore | None = None,
        recording: RecordingPolicy | None = None,
        live: LiveBoard | None = None,
        channels: ChannelLeases | None = None,
    ) -> None:
        self.signalling = signalling
        self.router = router
        self.record = record
        self.clock = clock or SystemClock()
        self.no_answer_timeout = no_answer_timeout
        self.presence = presence
        self.scenarios = scenarios
        self.queue_store = queue_store
        self.runner = ScenarioRunner(self)
        self.queues = QueueRunner(self)
        self.dialout = DialOutRunner(self)
        self.recorder = CallRecorder(self, recording)
        self.live = LivePublisher(live)
        self.channels = ChannelGate(channels)
        self.calls: dict[str, Call] = {}
        self.engine_dead: str | None = None
        # Set when the service is stopping: hang-ups that follow are ours, not the users'.
        self.stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    # --- intake ---------------------------------------------------------------
    def on_event(self, event: EngineEvent) -> None:
        """Called on the asyncio loop for every adapter event; never blocks."""
        self.spawn(self.handle(event))

    def spawn(self, coro: Awaitable[None]) -> None:
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
            return  # the service keeps trunk state
        if isinstance(event, RecordingDone) and self.recorder.owns(event):
            await self.recorder.done(event)  # a call recording: usually after the call
            return
        call = self.calls.get(event.call_id)
        if call is None or call.state is CallState.ENDED:
            return
        dial_out = call.flow if isinstance(call.flow, DialOutState) else None
        if isinstance(event, CallerAnswered):
            if dial_out is not None and not call.caller_answered:
                await self.dialout.agent_answered(call, dial_out)
        elif isinstance(event, LegFailed) and event.leg_id == A_LEG:
            if dial_out is not None:
                await self.dialout.agent_failed(call, dial_out, event.code)
        elif isinstance(event, LegRinging | LegAnswered | LegFailed):
            leg = call.ring.live.get(event.leg_id) if call.ring else None
            if leg is None or call.ring is None:
                return  # a leg we already cancelled
            if isinstance(event, LegRinging):
                if call.state is CallState.DIALING:
                    call.state = CallState.RINGING
            elif isinstance(event, LegAnswered):
                await self._leg_answered(call, call.ring, leg)
            else:
                await self._leg_failed(call, call.ring, leg, event.code)
            self.live.publish(call)  # who rings, who talks now
        elif isinstance(event, CallerGone | CalleeGone) and self.stopping:
            await self._end_all("shutdown", call)
        elif isinstance(event, CallerGone):
            await self._caller_gone(call)
        elif isinstance(event, CalleeGone):
            if call.answered is not None and event.leg_id == call.answered.leg_id:
                await self.finish(call, Result.ANSWERED, "callee_hangup", 200)
        elif isinstance(event, DtmfReceived):
            await self.runner.digit(call, event.digit)
        elif isinstance(event, RecordingDone):
            await self.runner.recorded(call, event)

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
        if not isinstance(decision, Reject) and not await self._channel(call, decision):
            decision = channels_busy(decision)
        call.decision = decision
        if call.state is CallState.ENDED:
            await self.channels.release(offer.call_id)
            return  # the caller hung up while we were looking things up
        if isinstance(decision, Reject):
            await self.command(
                self.signalling.reject(offer.call_id, decision.code, decision.reason)
            )
            result = Result.BUSY if decision.code == 486 else Result.FAILED
            await self.finish(call, result, decision.cause, decision.code)
            return
        if isinstance(decision, Inbound):
            await self.runner.start(call, decision)
        else:
            key = decision.callee_employee_id or 0
            if key:
                call.concerned.add(key)
            ring = single(key, decision.target, decision.fallback, self.no_answer_timeout)
            await self.start_ring(call, ring, self._dial_over)
        self.live.publish(call)

    async def _channel(self, call: Call, d: Dial | Inbound) -> bool:
        """A channel of the company number, within the plan's count (pbx.engine.channels)."""
        if d.channels is None or d.number_id is None:
            return True
        here = sum(
            1
            for other in self.calls.values()
            if other is not call
            and other.state is not CallState.ENDED
            and isinstance(other.decision, Dial | Inbound)
            and other.decision.number_id == d.number_id
        )
        return await self.channels.admit(call.offer.call_id, d.number_id, d.channels, here)

    async def _dial_over(self, call: Call, outcome: RingOutcome, last_code: int | None) -> None:
        """A plain call (no scenario) that nobody answered: tell the caller why."""
        if outcome is RingOutcome.TIMEOUT:
            await self.command(self.signalling.reject(call.offer.call_id, 480, "No Answer"))
            await self.finish(call, Result.NO_ANSWER, "no_answer_timeout", 480)
            return
        code = last_code or 480
        reply, reason, result, cause = failure_response(code)
        await self.command(self.signalling.reject(call.offer.call_id, reply, reason))
        await self.finish(call, result, cause, code)

    # --- ringing ------------------------------------------------------------------
    async def start_ring(self, call: Call, ring: Ring, after: AfterRing) -> None:
        """Ring by `ring`'s plan; `after` runs if nobody answers."""
        call.ring = ring
        call.after_ring = after
        if not call.caller_answered:
            call.state = CallState.DIALING
        self._cancel_ring_timers(call)
        end = self.clock.call_later(
            ring.timeout, lambda: self.spawn(self._ring_over(call, ring, RingOutcome.TIMEOUT))
        )
        call.ring_timers.append(end)
        await self._ring_step(call, ring)

    async def _ring_step(self, call: Call, ring: Ring) -> None:
        while call.ring is ring and ring.winner is None and ring.has_next():
            start, stop = ring.advance()
            for leg in stop:
                ring.live.pop(leg.leg_id, None)
                await self.command(self.signalling.cancel_leg(call.offer.call_id, leg.leg_id))
            for reach in start:
                await self._originate(call, ring, reach, reach.target)
            if call.ring is not ring or ring.winner is not None:
                return
            if ring.live:
                delay = ring.delay_to_next()
                if delay is not None:
                    self._arm_ring_timer(call, delay, lambda: self._ring_step(call, ring))
                elif ring.tail is not None:
                    self._arm_ring_timer(
                        call, ring.tail, lambda: self._ring_over(call, ring, RingOutcome.TIMEOUT)
                    )
                return
        if call.ring is ring and ring.winner is None and not ring.live:
            await self._ring_over(call, ring, RingOutcome.FAILED)

    def _arm_ring_timer(
        self, call: Call, delay: float, step: Callable[[], Awaitable[None]]
    ) -> None:
        # Keep the overall timeout (the first timer); replace the step timer.
        for timer in call.ring_timers[1:]:
            timer.cancel()
        del call.ring_timers[1:]
        call.ring_timers.append(self.clock.call_later(delay, lambda: self.spawn(step())))

    async def _originate(self, call: Call, ring: Ring, reach: Reach, target: Any) -> Leg:
        call.legs_made += 1
        leg = Leg(f"b{call.legs_made}", reach.key, target, self.clock.now())
        if call.first_leg_at is None:
            call.first_leg_at = leg.started_at
        ring.live[leg.leg_id] = leg
        await self.command(self.signalling.originate(call.offer.call_id, leg.leg_id, target))
        self.live.publish(call)
        return leg

    async def _leg_answered(self, call: Call, ring: Ring, leg: Leg) -> None:
        ring.winner = leg
        ring.live.pop(leg.leg_id, None)
        self._cancel_ring_timers(call)
        self.cancel_timers(call)
        await self._cancel_legs(call, ring)
        call.answered = leg
        call.state = CallState.ANSWERED
        call.answered_at = self.clock.now()
        await self._mark_busy(call, True)
        await self.recorder.answered(call)
        if call.on_answer is not None:
            await call.on_answer()

    async def _leg_failed(self, call: Call, ring: Ring, leg: Leg, code: int) -> None:
        ring.live.pop(leg.leg_id, None)
        ring.last_code = code
        reach = ring.reach.get(leg.key)
        if code == 404 and reach is not None and reach.fallback and not leg.fallback_used:
            # No phone registered: forward to the mobile as the employee asked.
            new = await self._originate(call, ring, reach, reach.fallback)
            new.fallback_used = True
            return
        if not ring.live:
            self._cancel_step_timer(call)
            await self._ring_step(call, ring)

    async def _ring_over(self, call: Call, ring: Ring, outcome: RingOutcome) -> None:
        if call.ring is not ring or ring.winner is not None or call.state is CallState.ENDED:
            return
        self._cancel_ring_timers(call)
        await self._cancel_legs(call, ring)
        if call.after_ring is not None:
            await call.after_ring(call, outcome, ring.last_code)

    async def _caller_gone(self, call: Call) -> None:
        call.caller_gone = True
        if call.state is CallState.ANSWERED:
            await self.finish(call, Result.ANSWERED, "caller_hangup", 200)
            return
        if await self.runner.caller_gone(call):
            return  # a voicemail is still being saved
        if call.ring is not None:
            self._cancel_ring_timers(call)
            await self._cancel_legs(call, call.ring)
        await self.finish(call, Result.MISSED, "caller_cancel", 487)

    async def _cancel_legs(self, call: Call, ring: Ring) -> None:
        """Stop every phone still ringing. The ring is detached first: the 487s that
        answer our CANCELs arrive while we wait and are ours, not news."""
        legs = list(ring.live.values())
        ring.live.clear()
        if call.ring is ring:
            call.ring = None
        for leg in legs:
            await self.command(self.signalling.cancel_leg(call.offer.call_id, leg.leg_id))
        self.live.publish(call)

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
        await self.finish(call, Result.ANSWERED if answered else Result.FAILED, cause, None)

    async def _mark_busy(self, call: Call, on: bool) -> None:
        d = call.decision
        if self.presence is None or d is None or d.company_id is None:
            return
        callee = call.answered.key if call.answered else 0
        people = [e for e in (d.caller_employee_id, callee) if e]
        try:
            await self.presence.busy(d.company_id, people, on)
        except Exception as exc:  # presence is advisory; a Redis hiccup must not drop a call
            log.warning("presence_failed", error=repr(exc))

    async def command(self, command: Awaitable[None]) -> None:
        try:
            await command
        except EngineUnavailable as exc:
            log.error("engine_unavailable", error=str(exc))

    def set_timer(
        self, call: Call, delay: float, step: Callable[[], Awaitable[None]], slot: str = "step"
    ) -> None:
        """Run `step` after `delay` seconds, replacing the pending timer of `slot`."""
        old = call.timers.pop(slot, None)
        if old is not None:
            old.cancel()
        call.timers[slot] = self.clock.call_later(delay, lambda: self.spawn(step()))

    def cancel_timers(self, call: Call) -> None:
        for timer in call.timers.values():
            timer.cancel()
        call.timers.clear()

    def _cancel_step_timer(self, call: Call) -> None:
        for timer in call.ring_timers[1:]:
            timer.cancel()
        del call.ring_timers[1:]

    def _cancel_ring_timers(self, call: Call) -> None:
        for timer in call.ring_timers:
            timer.cancel()
        call.ring_timers.clear()

    async def finish(self, call: Call, result: Result, cause: str, code: int | None) -> None:
        if call.state is CallState.ENDED:
            return
        was_answered = call.state is CallState.ANSWERED
        call.state = CallState.ENDED
        self.cancel_timers(call)
        self._cancel_ring_timers(call)
        self.calls.pop(call.offer.call_id, None)
        self.live.publish(call)  # off the board
        await self.channels.release(call.offer.call_id)
        if was_answered:
            await self._mark_busy(call, False)
        try:
            record = self._record_of(call, call.result or result, cause, code)
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
        leg = call.answered
        target = leg.target if leg else (d.target if isinstance(d, Dial) else None)
        callee_employee = leg.key if leg and leg.key else None
        if callee_employee is None and isinstance(d, Dial):
            callee_employee = d.callee_employee_id
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
            callee_employee_id=callee_employee,
            trunk_id=d.trunk_id,
            number_id=d.number_id,
            caller_uri=f"sip:{offer.from_user}@{offer.from_host}",
            callee_uri=f"sip:{target.user}@{target.host}" if target else "",
            callee_started_at=leg.started_at if leg else call.first_leg_at,
            target=call.target,
            concerned=tuple(sorted(call.concerned)),
            lang=call.lang,
        )
