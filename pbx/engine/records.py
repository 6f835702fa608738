"""Time for call logic (a fake clock in unit tests), what a finished call records,
and how a callee's failure is reported to the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pbx.engine.routing import Direction
from pbx.engine.states import Result


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
    target: str = ""  # the scenario step that last handled the call ("group:sales")
    concerned: tuple[int, ...] = ()  # employees to alert if nobody answered
    lang: str = "en"

    @property
    def missed(self) -> bool:
        """A client's call that nobody took (a voicemail is reported on its own)."""
        return self.direction is Direction.INBOUND and self.result not in (
            Result.ANSWERED,
            Result.VOICEMAIL,
        )


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
