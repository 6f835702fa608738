"""Fakes for call logic without SIP: signalling, clock, directory and scenarios, and a
harness that feeds adapter events to a `CallManager` (tests/unit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pbx.engine import targets
from pbx.engine.calls import CallManager, CallRecord
from pbx.engine.events import CallOffered, Target
from pbx.engine.plans import (
    GroupMember,
    GroupPlan,
    MemberState,
    MenuPlan,
    NumberPlan,
    Prompt,
    QueuePlan,
    Voicemail,
)
from pbx.engine.ringplan import Algorithm, GroupSpec
from pbx.engine.routing import Company, Did, Member, Router, Trunk
from pbx.engine.targets import Kind

EDGE = "10.0.0.1"
CARRIER = "198.51.100.7"


class FakeTimer:
    def __init__(self, clock: FakeClock, at: datetime, cb: Callable[[], None]) -> None:
        self.clock, self.at, self.cb, self.cancelled = clock, at, cb, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        self.timers: list[FakeTimer] = []

    def now(self) -> datetime:
        return self.t

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(self, self.t + timedelta(seconds=delay), callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        for timer in [t for t in self.timers if not t.cancelled and t.at <= self.t]:
            self.timers.remove(timer)
            timer.cb()


@dataclass
class FakeSignalling:
    commands: list[tuple] = field(default_factory=list)

    async def originate(self, call_id: str, leg_id: str, target: Target) -> None:
        self.commands.append(("originate", call_id, leg_id, target))

    async def reject(self, call_id: str, code: int, reason: str) -> None:
        self.commands.append(("reject", call_id, code))

    async def cancel_leg(self, call_id: str, leg_id: str) -> None:
        self.commands.append(("cancel", call_id, leg_id))

    async def hangup(self, call_id: str) -> None:
        self.commands.append(("hangup", call_id))

    async def answer(self, call_id: str) -> None:
        self.commands.append(("answer", call_id))

    async def progress(self, call_id: str) -> None:
        self.commands.append(("progress", call_id))

    async def play(self, call_id: str, prompt: str, loop: bool = False) -> None:
        self.commands.append(("play", call_id, prompt))

    async def stop_play(self, call_id: str) -> None:
        self.commands.append(("stop_play", call_id))

    async def start_recording(self, call_id: str, path: str, both: bool = False) -> None:
        self.commands.append(("record_call", call_id, path) if both else ("record", call_id, path))

    async def stop_recording(self, call_id: str) -> None:
        self.commands.append(("stop_record", call_id))

    async def dial_out(self, call_id: str, target: Target) -> None:
        self.commands.append(("dial_out", call_id, target))

    def names(self) -> list[str]:
        return [c[0] for c in self.commands]


class FakeDirectory:
    def __init__(self) -> None:
        self.companies = {1: Company(1, "c1.pbx.test"), 2: Company(2, "c2.pbx.test")}
        self.members = {
            (1, "101"): Member(11, "101", "Anna"),
            (1, "102"): Member(12, "102", "Boris"),
            (2, "101"): Member(21, "101", "Other"),
            (1, "103"): Member(13, "103", "Dora", dnd=True),
            (1, "104"): Member(14, "104", "Egor", forward_mode="always", mobile="79161112233"),
            (1, "105"): Member(
                15, "105", "Fedor", forward_mode="unregistered", mobile="79164445566"
            ),
        }
        self.trunk = Trunk(5, 1, CARRIER, 5060, "acct", "secret", None)
        self.did_ = Did(7, 1, "74951234567", 5, "102")

    async def company_by_domain(self, domain: str) -> Company | None:
        return next((c for c in self.companies.values() if c.sip_domain == domain), None)

    async def company(self, company_id: int) -> Company | None:
        return self.companies.get(company_id)

    async def member(self, company_id: int, ext: str) -> Member | None:
        return self.members.get((company_id, ext))

    async def did(self, number: str) -> Did | None:
        return self.did_ if number == self.did_.number else None

    async def trunks_from(self, source_ip: str) -> list[Trunk]:
        return [self.trunk] if source_ip == CARRIER else []

    async def outbound_route(self, company_id: int) -> tuple[Trunk, Did] | None:
        return (self.trunk, self.did_) if company_id == 1 else None


class Harness:
    def __init__(
        self,
        scenarios: Any = None,
        directory: FakeDirectory | None = None,
        queues: Any = None,
        recording: Any = None,
        live: Any = None,
        channels: Any = None,
    ) -> None:
        self.clock = FakeClock()
        self.sig = FakeSignalling()
        self.records: list[CallRecord] = []
        self.directory = directory or FakeDirectory()
        router = Router(self.directory, {(EDGE, 5060)}, (EDGE, 5060))

        async def sink(rec: CallRecord) -> None:
            self.records.append(rec)

        self.mgr = CallManager(
            self.sig,
            router,
            sink,
            self.clock,
            no_answer_timeout=30,
            scenarios=scenarios,
            queue_store=queues,
            recording=recording,
            live=live,
            channels=channels,
        )

    async def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.mgr.drain()

    async def feed(self, *events: object) -> None:
        for ev in events:
            await self.mgr.handle(ev)  # type: ignore[arg-type]
        await self.mgr.drain()

    def originated(self) -> tuple:
        return next(c for c in self.sig.commands if c[0] == "originate")


def device_offer(
    call_id: str = "c-1",
    to: str = "102",
    host: str = "c1.pbx.test",
    user: str = "101",
    domain: str = "c1.pbx.test",
) -> CallOffered:
    return CallOffered(
        call_id,
        to,
        host,
        user,
        domain,
        None,
        EDGE,
        5060,
        headers={"x-pbx-user": user, "x-pbx-domain": domain},
    )


# Anna 101 (11), Boris 102 (12), Dora 103 (13, DND) from FakeDirectory.
MEMBERS = (GroupMember(11, "101", 1), GroupMember(12, "102", 2), GroupMember(13, "103", 3))


@dataclass
class FakeScenarios:
    number: NumberPlan
    groups: dict[str, GroupPlan] = field(default_factory=dict)
    menus: dict[str, MenuPlan] = field(default_factory=dict)
    queues: dict[str, QueuePlan] = field(default_factory=dict)
    on_call: set[int] = field(default_factory=set)
    unregistered: set[int] = field(default_factory=set)
    voicemails: list[Voicemail] = field(default_factory=list)

    async def number_plan(self, company_id: int, number_id: int) -> NumberPlan | None:
        return self.number

    async def group(self, company_id: int, name: str) -> GroupPlan | None:
        return self.groups.get(name)

    async def menu(self, company_id: int, name: str) -> MenuPlan | None:
        return self.menus.get(name)

    async def queue(self, company_id: int, name: str) -> QueuePlan | None:
        return self.queues.get(name)

    async def member_states(
        self, company_id: int, members: tuple[GroupMember, ...]
    ) -> dict[int, MemberState]:
        return {
            m.employee_id: MemberState(
                m.employee_id not in self.unregistered, m.employee_id in self.on_call, None
            )
            for m in members
        }

    async def extensions(self, company_id: int) -> set[str]:
        return {"101", "102", "103"}

    async def prompt(self, company_id: int, name: str | None, system: str, lang: str) -> Prompt:
        return Prompt(f"/media/{name or system}", 3.0)

    def recording_path(self, company_id: int, call_id: str) -> str:
        return f"/spool/{call_id}.wav"

    async def voicemail(self, vm: Voicemail) -> bool:
        self.voicemails.append(vm)
        return True


def scenario_directory() -> FakeDirectory:
    d = FakeDirectory()
    d.did_ = replace(d.did_, scenario=True)
    return d


def harness(sc: FakeScenarios) -> Harness:
    return Harness(scenarios=sc, directory=scenario_directory())


def group(name: str, algorithm: Algorithm, **kw: object) -> GroupPlan:
    spec = GroupSpec(algorithm, interval=10, timeout=40, **kw)  # type: ignore[arg-type]
    return GroupPlan(name, spec, MEMBERS, fallback=targets.Target(Kind.VOICEMAIL, "common"))


def client_call(call_id: str = "in-1") -> CallOffered:
    return CallOffered(
        call_id, "74951234567", "203.0.113.1", "79990001122", CARRIER, None, CARRIER, 5060
    )


def ringing_exts(h: Harness) -> list[str]:
    return [c[3].user for c in h.sig.commands if c[0] == "originate"]


def leg_of(h: Harness, ext: str) -> str:
    return next(c[2] for c in h.sig.commands if c[0] == "originate" and c[3].user == ext)


def to_group(name: str) -> NumberPlan:
    return NumberPlan("en", open_target=targets.Target(Kind.GROUP, name))
