"""Ring-group algorithms (seed 002 / seed 000 semantics) as pure plans."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pbx.engine.ringplan import Algorithm, GroupSpec, Member, end_of, plan, ringing_at

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def team(*skip: str) -> list[Member]:
    """Four members in list order 1..4 (ids 11..14); `skip` marks some as unavailable."""
    return [
        Member(11, 1, on_call="busy" in skip),
        Member(12, 2, registered="unregistered" not in skip),
        Member(13, 3, dnd="dnd" in skip),
        Member(14, 4),
    ]


def timeline(spec: GroupSpec, members: list[Member]) -> list[tuple[float, list[int]]]:
    return [(s.at, sorted(s.ring)) for s in plan(spec, members)]


def test_sequential_moves_on_and_stops_the_previous_phone() -> None:
    spec = GroupSpec(Algorithm.SEQUENTIAL, interval=10, timeout=60)
    assert timeline(spec, team()) == [(0, [11]), (10, [12]), (20, [13]), (30, [14])]
    steps = plan(spec, team())
    assert ringing_at(steps, 15) == {12}  # 11 no longer rings
    assert end_of(spec, steps) == 40  # then the fallback


def test_sequential_cyclic_starts_again_until_timeout() -> None:
    spec = GroupSpec(Algorithm.SEQUENTIAL, interval=10, timeout=55, cyclic=True)
    assert [s[1][0] for s in timeline(spec, team())] == [11, 12, 13, 14, 11, 12]
    assert end_of(spec, plan(spec, team())) == 55


def test_busy_unregistered_and_dnd_members_are_skipped() -> None:
    spec = GroupSpec(Algorithm.SEQUENTIAL, interval=10)
    assert timeline(spec, team("busy", "unregistered", "dnd")) == [(0, [14])]
    nobody = [Member(1, 1, on_call=True), Member(2, 2, dnd=True)]
    assert plan(spec, nobody) == [] and end_of(spec, []) == 0  # straight to the fallback


def test_cumulative_keeps_earlier_phones_ringing() -> None:
    spec = GroupSpec(Algorithm.CUMULATIVE, interval=5, timeout=30)
    assert timeline(spec, team()) == [
        (0, [11]),
        (5, [11, 12]),
        (10, [11, 12, 13]),
        (15, [11, 12, 13, 14]),
    ]
    assert ringing_at(plan(spec, team()), 29) == {11, 12, 13, 14}
    assert end_of(spec, plan(spec, team())) == 30


def test_ring_all_rings_everyone_not_on_a_call() -> None:
    spec = GroupSpec(Algorithm.RING_ALL, timeout=20)
    assert timeline(spec, team("busy")) == [(0, [12, 13, 14])]


def test_least_idle_goes_to_the_longest_idle_first() -> None:
    members = [
        Member(11, 1, last_call_end=T0 - timedelta(minutes=1)),
        Member(12, 2, last_call_end=T0 - timedelta(minutes=30)),
        Member(13, 3, last_call_end=None),  # no call yet: idle longest of all
        Member(14, 4, last_call_end=T0 - timedelta(minutes=5)),
    ]
    spec = GroupSpec(Algorithm.LEAST_IDLE, interval=10)
    assert [s[1][0] for s in timeline(spec, members)] == [13, 12, 14, 11]


def test_random_order_covers_everyone_once_and_varies() -> None:
    spec = GroupSpec(Algorithm.RANDOM, interval=10)
    orders = {
        tuple(sorted(s.ring)[0] for s in plan(spec, team(), random.Random(seed)))
        for seed in range(20)
    }
    assert all(sorted(o) == [11, 12, 13, 14] for o in orders)
    assert len(orders) > 1


def test_priority_levels_ring_together_and_lower_levels_join() -> None:
    members = [Member(11, 1), Member(12, 1), Member(13, 2), Member(14, 3, on_call=True)]
    spec = GroupSpec(Algorithm.PRIORITY, interval=8, timeout=40)
    assert timeline(spec, members) == [(0, [11, 12]), (8, [11, 12, 13])]
    assert end_of(spec, plan(spec, members)) == 40
