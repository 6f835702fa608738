"""Calls the PBX starts itself: ring the employee's phone first, then dial the client
from the company number ("call back" from a missed-call alert, a queue's callback).

Leg A is the employee (Signalling.dial_out): their phone through the edge, or their
mobile through the trunk when the request names it; once they answer, leg B goes to the
client through the company trunk and the two are bridged. Nothing rings the client
unless the employee picked up.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbx.engine.events import CallOffered, Target
from pbx.engine.ringing import RingOutcome, single
from pbx.engine.routing import Dial, Direction
from pbx.engine.states import CallState, Result
from pbx.logging import get_logger

if TYPE_CHECKING:
    from pbx.engine.calls import Call, CallManager

log = get_logger(__name__)

AGENT_RING = 30.0  # how long the employee's phone rings before we give up
A_LEG = "a"  # the leg id the adapter reports for leg A of a call it dialled out

Failed = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class DialRequest:
    company_id: int
    employee_id: int
    ext: str
    client: str  # digits, as the trunk dials them
    reason: str = "callback"  # "callback" (alert button) | "queue"
    # Ring the employee on this mobile (digits, through the trunk) instead of their phone.
    agent_mobile: str = ""


@dataclass
class DialOutState:
    request: DialRequest
    agent: Target
    client: Target
    on_fail: Failed | None = None


class DialOutRunner:
    def __init__(self, manager: CallManager) -> None:
        self.m = manager

    async def start(self, req: DialRequest, on_fail: Failed | None = None) -> str | None:
        """Start the call; its id, or None when it cannot be placed at all."""
        from pbx.engine.calls import Call

        directory = self.m.router.directory
        company = await directory.company(req.company_id)
        member = await directory.member(req.company_id, req.ext) if company else None
        out = await self.m.router.external(req.company_id, req.client) if member else None
        if company is None or member is None or out is None:
            log.warning("dial_out_impossible", company=req.company_id, ext=req.ext)
            if on_fail is not None:
                await on_fail()
            return None
        client_target, trunk, did = out
        agent_target = self.m.router.device_target(company, member, req.client, None)
        if req.agent_mobile:
            # The employee's mobile, through the same trunk, showing the company number.
            mobile = await self.m.router.external(req.company_id, req.agent_mobile)
            if mobile is None:  # the trunk went away since `out` was found
                log.warning("dial_out_impossible", company=req.company_id, ext=req.ext)
                if on_fail is not None:
                    await on_fail()
                return None
            agent_target = mobile[0]
        call_id = f"out-{uuid.uuid4().hex}"
        offer = CallOffered(call_id, req.client, "", member.ext, company.sip_domain, None, "", 0)
        call = Call(offer=offer, started_at=self.m.clock.now())
        call.decision = Dial(
            target=client_target,
            company_id=req.company_id,
            direction=Direction.OUTBOUND,
            caller=member.ext,
            callee=req.client,
            caller_employee_id=member.employee_id,
            trunk_id=trunk.id,
            number_id=did.id,
        )
        call.target = req.reason
        call.state = CallState.DIALING
        call.flow = DialOutState(req, agent_target, client_target, on_fail)
        self.m.calls[call_id] = call
        self.m.set_timer(call, AGENT_RING, lambda: self._agent_missed(call))
        await self.m.command(self.m.signalling.dial_out(call_id, agent_target))
        return call_id

    async def agent_answered(self, call: Call, state: DialOutState) -> None:
        self.m.cancel_timers(call)
        call.caller_answered = True
        ring = single(0, state.client, None, self.m.no_answer_timeout)
        await self.m.start_ring(call, ring, lambda c, o, code: self._client_missed(c, o, code))

    async def agent_failed(self, call: Call, state: DialOutState, code: int) -> None:
        await self.m.finish(call, Result.FAILED, f"agent_failed_{code}", code)
        if state.on_fail is not None:
            await state.on_fail()

    async def _agent_missed(self, call: Call) -> None:
        state = call.flow
        if call.caller_answered or not isinstance(state, DialOutState):
            return
        await self.m.command(self.m.signalling.hangup(call.offer.call_id))
        await self.m.finish(call, Result.NO_ANSWER, "agent_no_answer", 480)
        if state.on_fail is not None:
            await state.on_fail()

    async def _client_missed(self, call: Call, outcome: RingOutcome, code: int | None) -> None:
        state = call.flow
        await self.m.command(self.m.signalling.hangup(call.offer.call_id))
        result = Result.NO_ANSWER if outcome is RingOutcome.TIMEOUT else Result.FAILED
        await self.m.finish(call, result, "client_no_answer", code)
        if isinstance(state, DialOutState) and state.on_fail is not None:
            await state.on_fail()
