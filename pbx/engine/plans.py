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

    async def member_states(
        self, company_id: int, members: tuple[GroupMember, ...]
    ) -> dict[int, MemberState]: ...

    async def extensions(self, company_id: int) -> set[str]: ...

    async def prompt(self, company_id: int, name: str | None, system: str, lang: str) -> Prompt: ...

    def recording_path(self, company_id: int, call_id: str) -> str: ...

    async def voicemail(self, vm: Voicemail) -> None: ...
