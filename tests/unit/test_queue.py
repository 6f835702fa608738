"""The queue and callbacks as pure call logic: who waits, who gets the next free agent,
and the callback that rings the agent first and then the client."""

from __future__ import annotations

from dataclasses import dataclass, field

from pbx.engine.calls import Result
from pbx.engine.dialout import DialRequest
from pbx.engine.events import (
    CalleeGone,
    CallerAnswered,
    CallerGone,
    CallOffered,
    DtmfReceived,
    LegAnswered,
    LegFailed,
)
from pbx.engine.plans import NumberPlan, QueuePlan
from pbx.engine.queue import parse_callback
from pbx.engine.ringplan import Algorithm
from pbx.engine.targets import Kind, Target
from tests.support.engine import (
    CARRIER,
    FakeScenarios,
    Harness,
    group,
    scenario_directory,
)


@dataclass
class FakeQueueStore:
    lines: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    agents: dict[tuple[int, int], str] = field(default_factory=dict)

    async def join(self, company_id: int, queue: str, entry: str, at: float) -> None:
        self.lines.setdefault((company_id, queue), {})[entry] = at

    async def put_back(self, company_id: int, queue: str, entry: str, at: float) -> None:
        await self.join(company_id, queue, entry, at)

    async def leave(self, company_id: int, queue: str, entry: str) -> bool:
        return self.lines.get((company_id, queue), {}).pop(entry, None) is not None

    async def rank(self, company_id: int, queue: str, entry: str) -> int | None:
        line = self.lines.get((company_id, queue), {})
        order = sorted(line, key=lambda e: (line[e], e))
        return order.index(entry) if entry in line else None

    async def entries(self) -> list[tuple[int, str, str, float]]:
        return [(c, q, e, at) for (c, q), line in self.lines.items() for e, at in line.items()]

    async def reserve(self, company_id: int, employee_id: int, entry: str, ttl: float) -> bool:
        return self.agents.setdefault((company_id, employee_id), entry) == entry

    async def release(self, company_id: int, employee_id: int, entry: str) -> None:
        if self.agents.get((company_id, employee_id)) == entry:
            del self.agents[(company_id, employee_id)]

    async def reserved(self, company_id: int) -> set[int]:
        return {e for c, e in self.agents if c == company_id}


def support_queue() -> tuple[FakeScenarios, FakeQueueStore, Harness]:
    agents = group("support", Algorithm.RING_ALL)
    agents = type(agents)(agents.name, agents.spec, agents.members[:1])  # Anna only
    sc = FakeScenarios(
        NumberPlan("en", open_target=Target(Kind.QUEUE, "support")),
        {"support": agents},
        queues={"support": QueuePlan("support", "support", max_wait=60, agent_ring=15)},
    )
    store = FakeQueueStore()
    h = Harness(scenarios=sc, directory=scenario_directory(), queues=store)
    return sc, store, h


def client(call_id: str, number: str = "79990001122") -> CallOffered:
    return CallOffered(call_id, "74951234567", "203.0.113.1", number, CARRIER, None, CARRIER, 5060)


def offers(h: Harness, call_id: str) -> list[str]:
    return [c[2] for c in h.sig.commands if c[0] == "originate" and c[1] == call_id]


async def test_two_callers_one_agent_in_order_of_arrival() -> None:
    sc, store, h = support_queue()
    await h.feed(client("q-1"))
    await h.tick(1)
    await h.feed(client("q-2", "79990003344"))
    assert h.sig.commands[:2] == [("answer", "q-1"), ("play", "q-1", "/media/queue_wait")]
    assert offers(h, "q-1") == ["b1"] and offers(h, "q-2") == []
    await h.feed(LegAnswered("q-1", "b1"))
    assert await store.rank(1, "support", "q-1") is None  # left the line
    sc.on_call = {11}  # Anna is talking to the first caller
    await h.tick(5)
    assert offers(h, "q-2") == []
    await h.feed(CalleeGone("q-1", "b1"), CallerGone("q-1"))
    sc.on_call = set()
    await h.tick(1)
    assert offers(h, "q-2") == ["b1"]
    assert await store.rank(1, "support", "q-2") == 0
    # The second caller heard they were second in line.
    await h.tick(3)
    heard = [c[2] for c in h.sig.commands if c[0] == "play" and c[1] == "q-2"]
    assert heard[:3] == ["/media/queue_wait", "/media/queue_position", "/media/d2"]


async def test_an_unanswered_offer_keeps_the_place_in_line() -> None:
    _sc, store, h = support_queue()
    await h.feed(client("q-1"))
    assert offers(h, "q-1") == ["b1"]
    await h.tick(15)  # Anna does not answer within agent_ring
    assert ("cancel", "q-1", "b1") in h.sig.commands
    assert await store.rank(1, "support", "q-1") == 0
    await h.tick(1)
    assert offers(h, "q-1") == ["b1", "b2"]  # offered again: the only agent
    assert store.agents == {(1, 11): "q-1"}


async def test_maximum_wait_goes_to_the_fallback() -> None:
    sc, store, h = support_queue()
    sc.on_call = {11}  # the only agent is talking all along
    await h.feed(client("q-1"))
    await h.tick(59)
    assert not any(c[0] in ("hangup", "reject") for c in h.sig.commands)
    await h.tick(1)
    assert h.sig.commands[-1] == ("hangup", "q-1")
    assert h.records[0].missed and store.lines[(1, "support")] == {}


async def test_callback_keeps_the_place_and_rings_the_agent_first() -> None:
    sc, store, h = support_queue()
    sc.on_call = {11}
    await h.feed(client("q-1"))
    await h.tick(2)
    await h.feed(DtmfReceived("q-1", "1"))
    assert ("play", "q-1", "/media/callback_ok") in h.sig.commands
    await h.tick(3)
    assert h.sig.commands[-1] == ("hangup", "q-1")
    await h.feed(CallerGone("q-1"))
    assert [(r.result, r.hangup_cause) for r in h.records] == [(Result.MISSED, "queue_callback")]
    [(_company, _queue, entry, _)] = await store.entries()
    assert parse_callback(entry) == ("79990001122", 7, "q-1", 1)

    assert await h.mgr.queues.dispatch_callbacks() == 0  # still nobody free
    sc.on_call = set()
    assert await h.mgr.queues.dispatch_callbacks() == 1
    assert await store.entries() == []
    kind, call_id, agent = h.sig.commands[-1]
    assert kind == "dial_out" and (agent.user, agent.caller_id) == ("101", "79990001122")
    assert offers(h, call_id) == []  # the client rings only once the agent answered
    await h.feed(CallerAnswered(call_id))
    [leg] = offers(h, call_id)
    client_leg = next(c[3] for c in h.sig.commands if c[0] == "originate")
    assert (client_leg.user, client_leg.caller_id) == ("79990001122", "74951234567")
    await h.feed(LegAnswered(call_id, leg), CalleeGone(call_id, leg))
    rec = h.records[-1]
    assert (rec.result, rec.caller, rec.callee, rec.target) == (
        Result.ANSWERED,
        "101",
        "79990001122",
        "queue:support",
    )


async def test_a_failed_callback_goes_back_in_line_then_gives_up() -> None:
    _sc, store, h = support_queue()
    await store.join(1, "support", "cb|79990001122|7|q-9|1", 100.0)
    for attempt in (1, 2, 3):
        assert await h.mgr.queues.dispatch_callbacks() == 1
        call_id = h.sig.commands[-1][1]
        await h.feed(LegFailed(call_id, "a", 486, "Busy"))
        entries = await store.entries()
        if attempt < 3:
            assert [(e, at) for _, _, e, at in entries] == [
                (f"cb|79990001122|7|q-9|{attempt + 1}", 100.0)
            ]
    assert await store.entries() == [] and store.agents == {}


async def test_no_agent_registered_goes_to_the_fallback_at_once() -> None:
    sc, store, h = support_queue()
    sc.unregistered = {11}
    await h.feed(client("q-1"))
    assert h.sig.names() == ["reject"]  # the fallback, hangup, without answering first
    assert store.lines.get((1, "support"), {}) == {}
    assert h.records[0].missed


async def test_call_back_to_the_employees_mobile_rings_it_through_the_trunk() -> None:
    # The bot's "ring my mobile" (issue 13.6): leg A is the mobile, dialled through the
    # company trunk with the company number shown; the client follows once it answers.
    _sc, _store, h = support_queue()
    call_id = await h.mgr.dialout.start(
        DialRequest(1, 11, "101", "79990001122", agent_mobile="79161112233")
    )
    assert call_id is not None
    kind, dialled, agent = h.sig.commands[-1]
    assert (kind, dialled) == ("dial_out", call_id)
    assert (agent.user, agent.host, agent.proxy, agent.caller_id) == (
        "79161112233",
        CARRIER,
        None,
        "74951234567",
    )
    assert offers(h, call_id) == []
    await h.feed(CallerAnswered(call_id))
    client_leg = next(c[3] for c in h.sig.commands if c[0] == "originate")
    assert (client_leg.user, client_leg.host) == ("79990001122", CARRIER)
