"""What the engine reads about a company's inbound scenario at call time.

Plain frozen data plus the `Scenarios` lookup protocol (PostgreSQL/Redis in
storage/scenarios.py, fakes in unit tests), so call logic never sees SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pbx.engine.ringplan import GroupSpec
from pbx.engine.schedule import Schedule
from pbx.engine.targets import HANGUP, Target


@dataclass(frozen=True)
class NumberPlan:
    """A company number's scenario: greeting, schedule, targets in and out of hours."""

    lang: str
    open_target: Target
    closed_target: Target = HANGUP
    fallback: Target = HANGUP
    greeting: str | None = None
    schedule: Schedule | None = None
    notice: bool = False  # "this call is recorded" before anything else
    ringback: str | None = None  # the company's melody played instead of ringing tones


@dataclass(frozen=True)
class GroupMember:
    employee_id: int
    ext: str
    position: int


@dataclass(frozen=True)
class GroupPlan:
    name: str
    spec: GroupSpec
    members: tuple[GroupMember, ...]
    fallback: Target = HANGUP


@dataclass(frozen=True)
class MenuPlan:
    name: str
    prompt: str | None
    options: dict[str, Target] = field(default_factory=dict)
    timeout: float = 5.0
    repeats: int = 2
    on_timeout: Target = HANGUP
    on_invalid: Target = HANGUP
    dial_by_ext: bool = True


@dataclass(frozen=True)
class QueuePlan:
    name: str
    group: str  # the ring group whose members are the agents
    max_wait: float = 300.0
    agent_ring: float = 20.0
    announce: float = 30.0  # repeat the position this often
    callback: bool = True  # "press 1 to be called back"
    fallback: Target = HANGUP


@dataclass(frozen=True)
class Prompt:
    """An engine-ready audio file: `<base>.8` / `<base>.0` exist."""

    base: str
    duration: float


@dataclass(frozen=True)
class MemberState:
    registered: bool
    on_call: bool
    last_call_end: datetime | None


@dataclass(frozen=True)
class Voicemail:
    company_id: int
    box: str
    sip_call_id: str
    caller: str
    number: str
    path: str
    duration: float
    recipients: tuple[int, ...]  # employee ids to alert (empty: the owner)


class Scenarios(Protocol):
    async def number_plan(self, company_id: int, number_id: int) -> NumberPlan | None: ...

    async def group(self, company_id: int, name: str) -> GroupPlan | None: ...

    async def menu(self, company_id: int, name: str) -> MenuPlan | None: ...

    async def queue(self, company_id: int, name: str) -> QueuePlan | None: ...

    async def member_states(
        self, company_id: int, members: tuple[GroupMember, ...]
    ) -> dict[int, MemberState]: ...

    async def extensions(self, company_id: int) -> set[str]: ...

    async def prompt(self, company_id: int, name: str | None, system: str, lang: str) -> Prompt: ...

    def recording_path(self, company_id: int, call_id: str) -> str: ...

    async def voicemail(self, vm: Voicemail) -> bool:
        """Keep the message and alert its box; False when there was nothing to keep."""
        ...


class QueueStore(Protocol):
    """Who waits in which queue, in order, and which agent is being offered a call:
    shared by every engine node (Redis in production)."""

    async def join(self, company_id: int, queue: str, entry: str, at: float) -> None: ...

    async def leave(self, company_id: int, queue: str, entry: str) -> bool:
        """True if `entry` was there (so exactly one node can claim a callback)."""
        ...

    async def rank(self, company_id: int, queue: str, entry: str) -> int | None: ...

    async def put_back(self, company_id: int, queue: str, entry: str, at: float) -> None: ...

    async def entries(self) -> list[tuple[int, str, str, float]]:
        """Every (company, queue, entry, joined at) waiting anywhere."""
        ...

    async def reserve(self, company_id: int, employee_id: int, entry: str, ttl: float) -> bool: ...

    async def release(self, company_id: int, employee_id: int, entry: str) -> None: ...

    async def reserved(self, company_id: int) -> set[int]: ...
