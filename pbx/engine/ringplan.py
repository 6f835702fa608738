"""Ring-group algorithms as a pure function: who rings when (seeds 000 and 002).

A plan is a list of steps; from a step's time on, exactly its members' phones ring
(a member missing from the next step is stopped). The call logic follows the plan
with its clock and stops at the first answer or at the plan's end (no-answer
fallback). Members on a call, not registered or in do-not-disturb are skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Algorithm(StrEnum):
    # "По очереди" / "Последовательный обзвон": 1, then (after the interval) 2 instead
    # of 1, then 3 …; optionally cyclic until the group's timeout.
    SEQUENTIAL = "sequential"
    # "По нарастающей": 1, then 1+2, then 1+2+3 … (earlier phones keep ringing).
    CUMULATIVE = "cumulative"
    # "Всем сразу": every member who is not on a call, at once.
    RING_ALL = "ring_all"
    # "Равномерный (наиболее свободному) / по времени простоя": the member idle longest
    # since the end of their last call first, then the next longest, and so on.
    LEAST_IDLE = "least_idle"
    # "Случайный выбор": members in random order, one at a time.
    RANDOM = "random"
    # "Параллельный по приоритету (по позиции в списке)": the best-placed level first;
    # members sharing a position ring together; lower levels join after each interval.
    PRIORITY = "priority"


@dataclass(frozen=True)
class Member:
    employee_id: int
    position: int  # place in the group's list, 1 = first / best
    registered: bool = True
    on_call: bool = False
    dnd: bool = False
    last_call_end: datetime | None = None  # None: no call yet, the longest idle of all


@dataclass(frozen=True)
class GroupSpec:
    algorithm: Algorithm
    interval: float = 15.0  # seconds before moving on / adding the next member
    timeout: float = 60.0  # the group gives up: no-answer fallback
    cyclic: bool = False  # sequential orders start again from the top until timeout


@dataclass(frozen=True)
class Step:
    at: float  # seconds since the call reached the group
    ring: frozenset[int]  # employee ids ringing from this moment


def available(members: list[Member]) -> list[Member]:
    return [m for m in members if m.registered and not m.on_call and not m.dnd]


def idle_order(members: list[Member]) -> list[Member]:
    never = sorted((m for m in members if m.last_call_end is None), key=lambda m: m.position)
    called = [(m.last_call_end, m.position, m) for m in members if m.last_call_end is not None]
    return never + [m for _, _, m in sorted(called, key=lambda x: (x[0], x[1]))]


def _one_at_a_time(order: list[Member], spec: GroupSpec) -> list[Step]:
    steps: list[Step] = []
    t = 0.0
    while order and t < spec.timeout:
        for m in order:
            if t >= spec.timeout:
                break
            steps.append(Step(t, frozenset({m.employee_id})))
            t += spec.interval
        if not spec.cyclic:
            break
    return steps


def _growing(levels: list[list[Member]], spec: GroupSpec) -> list[Step]:
    steps: list[Step] = []
    ringing: set[int] = set()
    for i, level in enumerate(levels):
        t = i * spec.interval
        if t >= spec.timeout:
            break
        ringing |= {m.employee_id for m in level}
        steps.append(Step(t, frozenset(ringing)))
    return steps


def plan(spec: GroupSpec, members: list[Member], rng: random.Random | None = None) -> list[Step]:
    """The whole plan for one call; empty when nobody can take it (go to fallback now).
    The plan ends at `spec.timeout` at the latest (non-cyclic orders: after the last
    member's interval)."""
    free = sorted(available(members), key=lambda m: m.position)
    if not free:
        return []
    a = spec.algorithm
    if a is Algorithm.RING_ALL:
        return [Step(0.0, frozenset(m.employee_id for m in free))]
    if a is Algorithm.SEQUENTIAL:
        return _one_at_a_time(free, spec)
    if a is Algorithm.LEAST_IDLE:
        return _one_at_a_time(idle_order(free), spec)
    if a is Algorithm.RANDOM:
        shuffled = list(free)
        (rng or random.Random()).shuffle(shuffled)
        return _one_at_a_time(shuffled, spec)
    if a is Algorithm.CUMULATIVE:
        return _growing([[m] for m in free], spec)
    levels: dict[int, list[Member]] = {}
    for m in free:
        levels.setdefault(m.position, []).append(m)
    return _growing([levels[p] for p in sorted(levels)], spec)


def end_of(spec: GroupSpec, steps: list[Step]) -> float:
    """When the group gives up (the caller goes to the fallback step)."""
    if not steps:
        return 0.0
    if spec.algorithm in (Algorithm.SEQUENTIAL, Algorithm.LEAST_IDLE, Algorithm.RANDOM):
        return min(spec.timeout, steps[-1].at + spec.interval)
    return spec.timeout


def ringing_at(steps: list[Step], t: float) -> frozenset[int]:
    """Who rings at time t (seconds since the call reached the group)."""
    current: frozenset[int] = frozenset()
    for step in steps:
        if step.at <= t:
            current = step.ring
    return current
