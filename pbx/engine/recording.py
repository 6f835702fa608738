"""Call recording in the call logic: when a call is answered, ask the company's policy
whether to record it; the relay records both parties into a WAV, which the policy's
store compresses and keeps once the recording is done (usually after the call ended,
so jobs outlive the call itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pbx.engine.events import RecordingDone
from pbx.logging import get_logger

if TYPE_CHECKING:
    from pbx.engine.calls import Call, CallManager

log = get_logger(__name__)


@dataclass(frozen=True)
class RecordingRequest:
    """What the policy decides on: who talks, through which number, to which group."""

    company_id: int
    sip_call_id: str
    direction: str
    number_id: int | None
    caller_employee_id: int | None
    callee_employee_id: int | None
    target: str  # the scenario step that led here ("group:sales"), or ""


class RecordingPolicy(Protocol):
    async def path_for(self, req: RecordingRequest, now: datetime) -> str | None:
        """The WAV file to record into, or None if this call is not recorded."""
        ...

    async def recorded(
        self, company_id: int, sip_call_id: str, wav: str, seconds: float, now: datetime
    ) -> None: ...


class CallRecorder:
    def __init__(self, manager: CallManager, policy: RecordingPolicy | None) -> None:
        self.m = manager
        self.policy = policy
        self.jobs: dict[str, int] = {}  # SIP Call-ID -> company

    def owns(self, event: RecordingDone) -> bool:
        return event.call_id in self.jobs

    async def answered(self, call: Call) -> None:
        d = call.decision
        if self.policy is None or d is None or d.company_id is None or d.direction is None:
            return
        req = RecordingRequest(
            company_id=d.company_id,
            sip_call_id=call.offer.call_id,
            direction=str(d.direction),
            number_id=d.number_id,
            caller_employee_id=d.caller_employee_id,
            callee_employee_id=call.answered.key if call.answered and call.answered.key else None,
            target=call.target,
        )
        try:
            path = await self.policy.path_for(req, self.m.clock.now())
        except Exception as exc:  # a database hiccup must not drop the call itself
            log.error("recording_policy_failed", call_id=req.sip_call_id, error=repr(exc))
            return
        if path is None or call.caller_gone:
            return
        self.jobs[req.sip_call_id] = d.company_id
        await self.m.command(self.m.signalling.start_recording(req.sip_call_id, path, both=True))

    async def done(self, event: RecordingDone) -> None:
        company_id = self.jobs.pop(event.call_id)
        assert self.policy is not None
        try:
            await self.policy.recorded(
                company_id, event.call_id, event.path, event.duration, self.m.clock.now()
            )
        except Exception as exc:
            log.error("recording_store_failed", call_id=event.call_id, error=repr(exc))
