"""Call queues: callers wait with music and hear their position; the longest waiting
caller goes to the next free agent (the longest idle first); a caller may press 1 to
be called back, keeping their place, and hang up.

The order of callers and the agents being offered a call live in a shared store
(Redis), so several engine nodes serve one queue. Each waiting call checks its turn
every second; callbacks are dispatched by whichever node claims them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pbx.engine.dialout import DialRequest
from pbx.engine.plans import GroupMember, QueuePlan
from pbx.engine.ringing import single
from pbx.engine.ringplan import Member as PlanMember
from pbx.engine.ringplan import available, idle_order
from pbx.engine.states import CallState, Result
from pbx.logging import get_logger

if TYPE_CHECKING:
    from pbx.engine.calls import Call, CallManager

log = get_logger(__name__)

TICK = 1.0  # how often a waiting caller checks whether an agent is free
CALLBACK_KEY = "1"


@dataclass
class QueueState:
    plan: QueuePlan
    members: tuple[GroupMember, ...]
    entered: datetime
    entry: str
    depth: int
    agent: int | None = None  # the agent being offered this call now
    tried: set[int] = field(default_factory=set)
    callback: bool = False


MAX_CALLBACK_ATTEMPTS = 3


def callback_entry(caller: str, number_id: int, call_id: str, attempt: int = 1) -> str:
    return f"cb|{caller}|{number_id}|{call_id}|{attempt}"


def parse_callback(entry: str) -> tuple[str, int, str, int] | None:
    """(client, number id, original call id, attempt) of a callback entry."""
    parts = entry.split("|")
    if len(parts) != 5 or parts[0] != "cb" or not (parts[2].isdigit() and parts[4].isdigit()):
        return None
    return parts[1], int(parts[2]), parts[3], int(parts[4])


class QueueRunner:
    def __init__(self, manager: CallManager) -> None:
        self.m = manager

    # --- a caller joins ------------------------------------------------------------
    async def enter(self, call: Call, name: str, depth: int) -> None:
        runner = self.m.runner
        inbound = runner.inbound(call)
        sc, store = self.m.scenarios, self.m.queue_store
        plan = await sc.queue(inbound.company_id, name) if sc else None
        group = await sc.group(inbound.company_id, plan.group) if sc and plan else None
        if plan is None or group is None or store is None or sc is None:
            await runner.goto(call, runner.number_fallback(call), depth + 1)
            return
        call.concerned.update(m.employee_id for m in group.members)
        states = await sc.member_states(inbound.company_id, group.members)
        if not any(st.registered for st in states.values()):
            # Nobody could ever answer: no point in making the caller wait.
            await runner.goto(call, plan.fallback, depth + 1)
            return
        await runner.answer(call)
        call.state = CallState.QUEUED
        state = QueueState(plan, group.members, self.m.clock.now(), call.offer.call_id, depth)
        call.flow = state
        call.on_answer = lambda: self._answered(call, state)
        await store.join(inbound.company_id, name, state.entry, self.m.clock.now().timestamp())
        await self._announce(call, state)
        await self._tick(call, state)

    async def _announce(self, call: Call, state: QueueState) -> None:
        """All operators are busy; your position is N; press 1 for a callback; music."""
        store = self.m.queue_store
        company = self.m.runner.inbound(call).company_id
        rank = await store.rank(company, state.plan.name, state.entry) if store else None
        names = ["queue_wait"]
        if rank is not None and rank < 9:
            names += ["queue_position", f"d{rank + 1}"]
        if state.plan.callback:
            names.append("queue_callback")
        prompts = [await self.m.runner.prompt(call, None, n) for n in names]
        await self.m.runner.play_sequence(call, prompts, loop_moh=True)
        delay = sum(p.duration for p in prompts) + state.plan.announce
        self.m.set_timer(call, delay, lambda: self._reannounce(call, state), slot="announce")

    async def _reannounce(self, call: Call, state: QueueState) -> None:
        if call.flow is state and state.agent is None:
            await self._announce(call, state)

    # --- whose turn ------------------------------------------------------------------
    async def _tick(self, call: Call, state: QueueState) -> None:
        if call.flow is not state or call.state is not CallState.QUEUED:
            return
        inbound = self.m.runner.inbound(call)
        waited = (self.m.clock.now() - state.entered).total_seconds()
        if waited >= state.plan.max_wait and state.agent is None:
            await self._leave(call, state)
            await self.m.runner.goto(call, state.plan.fallback, state.depth + 1)
            return
        if state.agent is None:
            agent = await self.pick_agent(inbound.company_id, state, state.entry)
            if agent is not None:
                await self._offer(call, state, agent)
        self.m.set_timer(call, TICK, lambda: self._tick(call, state), slot="tick")

    async def pick_agent(self, company_id: int, state: QueueState, entry: str) -> int | None:
        """The agent for `entry` if it is its turn: the k-th in line takes the k-th free
        agent (longest idle first), reserved so no other caller gets them meanwhile."""
        sc, store = self.m.scenarios, self.m.queue_store
        assert sc is not None and store is not None
        rank = await store.rank(company_id, state.plan.name, entry)
        if rank is None:
            return None
        states = await sc.member_states(company_id, state.members)
        reserved = await store.reserved(company_id)
        members = [
            PlanMember(
                m.employee_id,
                m.position,
                registered=states[m.employee_id].registered,
                on_call=states[m.employee_id].on_call or m.employee_id in reserved,
                last_call_end=states[m.employee_id].last_call_end,
            )
            for m in state.members
            if m.employee_id in states
        ]
        free = [m.employee_id for m in idle_order(available(members))]
        if rank >= len(free):
            return None
        # Agents that did not answer this caller yet come first.
        order = [e for e in free[rank:] + free[:rank] if e not in state.tried]
        order += [e for e in free if e in state.tried]
        for employee_id in order:
            ttl = state.plan.agent_ring + 10
            if await store.reserve(company_id, employee_id, entry, ttl):
                return employee_id
        return None

    async def _offer(self, call: Call, state: QueueState, agent: int) -> None:
        inbound = self.m.runner.inbound(call)
        member = next(m for m in state.members if m.employee_id == agent)
        found = await self.m.router.directory.member(inbound.company_id, member.ext)
        reach = (
            await self.m.router.reach(inbound.company, found, inbound.caller, inbound.caller_name)
            if found
            else "gone"
        )
        if isinstance(reach, str):
            await self._release(inbound.company_id, state, agent)
            state.tried.add(agent)
            return
        state.agent = agent
        state.tried.add(agent)
        target, mobile = reach
        ring = single(agent, target, mobile, state.plan.agent_ring)
        await self.m.start_ring(call, ring, lambda c, o, code: self._not_taken(c, state))

    async def _not_taken(self, call: Call, state: QueueState) -> None:
        """The agent did not answer: back to waiting, the place in line kept."""
        if state.agent is not None:
            await self._release(self.m.runner.inbound(call).company_id, state, state.agent)
        state.agent = None

    async def _release(self, company_id: int, state: QueueState, agent: int) -> None:
        if self.m.queue_store is not None:
            await self.m.queue_store.release(company_id, agent, state.entry)

    async def _answered(self, call: Call, state: QueueState) -> None:
        await self._leave(call, state)

    async def _leave(self, call: Call, state: QueueState) -> None:
        company = self.m.runner.inbound(call).company_id
        if self.m.queue_store is not None:
            await self.m.queue_store.leave(company, state.plan.name, state.entry)
        if state.agent is not None:
            await self._release(company, state, state.agent)

    # --- the caller's side -----------------------------------------------------------
    async def digit(self, call: Call, state: QueueState, digit: str) -> None:
        if digit != CALLBACK_KEY or not state.plan.callback or state.agent is not None:
            return
        inbound = self.m.runner.inbound(call)
        store = self.m.queue_store
        assert store is not None
        # Same place in line, under a callback entry that outlives this call.
        entry = callback_entry(inbound.caller, inbound.number_id, call.offer.call_id)
        at = state.entered.timestamp()
        await store.leave(inbound.company_id, state.plan.name, state.entry)
        await store.put_back(inbound.company_id, state.plan.name, entry, at)
        state.callback = True
        call.result = Result.MISSED
        ok = await self.m.runner.prompt(call, None, "callback_ok")
        await self.m.runner.play_sequence(call, [ok], loop_moh=False)
        call.flow = None
        self.m.cancel_timers(call)
        self.m.set_timer(call, ok.duration, lambda: self.m.runner.hang_up(call, "queue_callback"))

    async def caller_gone(self, call: Call, state: QueueState) -> None:
        await self._leave(call, state)

    # --- callbacks -----------------------------------------------------------------------
    async def dispatch_callbacks(self) -> int:
        """Call back the clients whose turn it is; returns how many calls were started."""
        sc, store = self.m.scenarios, self.m.queue_store
        if sc is None or store is None:
            return 0
        started = 0
        for company_id, name, entry, at in await store.entries():
            parsed = parse_callback(entry)
            plan = await sc.queue(company_id, name) if parsed else None
            group = await sc.group(company_id, plan.group) if plan else None
            if parsed is None or plan is None or group is None:
                continue
            client, number_id, call_id, attempt = parsed
            state = QueueState(plan, group.members, self.m.clock.now(), entry, 0)
            agent = await self.pick_agent(company_id, state, entry)
            # Leaving the line is the claim: only one node gets True.
            if agent is None or not await store.leave(company_id, name, entry):
                continue
            ext = next(m.ext for m in group.members if m.employee_id == agent)

            async def failed(
                company_id: int = company_id,
                name: str = name,
                agent: int = agent,
                again: str = callback_entry(client, number_id, call_id, attempt + 1),
                at: float = at,
                last: bool = attempt >= MAX_CALLBACK_ATTEMPTS,
                entry: str = entry,
            ) -> None:
                await store.release(company_id, agent, entry)
                if not last:
                    await store.put_back(company_id, name, again, at)

            request = DialRequest(company_id, agent, ext, client, reason=f"queue:{name}")
            if await self.m.dialout.start(request, failed) is not None:
                started += 1
        return started
