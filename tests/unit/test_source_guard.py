"""The engine's source guard: who gets in, at what rate, and how unknown sources are
looked up without letting a flood of forged addresses flood the database (issue 18.2)."""

from __future__ import annotations

import pytest

from pbx.sip import guard as guard_module
from pbx.sip.guard import SourceGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(guard_module.time, "monotonic", c)
    return c


def test_edge_carriers_and_peers_get_in_strangers_do_not(clock: Clock) -> None:
    g = SourceGuard(frozenset({"10.0.0.1"}))
    g.trust_carriers(["192.0.2.7", "[2001:db8::7]"])
    assert g.admits("10.0.0.1") and g.admits("192.0.2.7") and g.admits("[2001:db8::7]")
    assert not g.admits("198.51.100.9")
    g.learn("198.51.100.9")  # the engine sent to it: its answer gets in
    assert g.admits("198.51.100.9")
    clock.now += guard_module.LEARNED_TTL + 1
    assert not g.admits("198.51.100.9")
    assert g.counts.untrusted == 2


def test_a_carrier_over_its_rate_is_dropped_and_recovers(clock: Clock) -> None:
    g = SourceGuard(frozenset(), rate=10)
    g.trust_carriers(["192.0.2.7"])
    admitted = sum(g.admits("192.0.2.7") for _ in range(100))
    assert admitted == 20  # the burst: twice the rate
    assert g.counts.over_rate == 80
    clock.now += 1.0
    assert sum(g.admits("192.0.2.7") for _ in range(100)) == 10
    # The edge is never limited here: Kamailio bans floods itself.
    edge = SourceGuard(frozenset({"10.0.0.1"}), rate=1)
    assert all(edge.admits("10.0.0.1") for _ in range(1000))


def test_unknown_sources_are_looked_up_once_each_and_within_a_budget(clock: Clock) -> None:
    asked: list[str] = []
    g = SourceGuard(frozenset(), on_unknown=asked.append)
    for _ in range(5):
        g.admits("198.51.100.1")
    assert asked == ["198.51.100.1"]  # once per LOOKUP_AGAIN, not per datagram
    for i in range(1000):  # a flood of forged addresses
        g.admits(f"203.0.113.{i % 250}-{i}")
    assert len(asked) == guard_module.LOOKUPS_PER_SECOND
    clock.now += guard_module.LOOKUP_AGAIN
    g.admits("198.51.100.1")
    assert asked[-1] == "198.51.100.1"
