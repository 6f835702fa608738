"""Ringing several phones for one call by a plan: who rings from when, who wins.

A `Ring` follows a ring plan (pbx.engine.ringplan): at each step exactly the step's
members ring (new ones get a leg, dropped ones are cancelled). When every live leg has
failed the next step starts at once rather than waiting out the interval; when no
step is left, or the time is up, the ring is over and the caller moves on. The first
leg to answer wins and every other leg is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pbx.engine.events import Target
from pbx.engine.ringplan import Step


class RingOutcome(StrEnum):
    ANSWERED = "answered"
    TIMEOUT = "timeout"  # time ran out while phones were ringing
    FAILED = "failed"  # every phone refused or failed


@dataclass
class Reach:
    """How to ring one member: a target, and a second one if it is unregistered."""

    key: int  # employee id, or 0 for an external number
    target: Target
    fallback: Target | None = None


@dataclass
class Leg:
    leg_id: str
    key: int
    target: Target
    started_at: datetime
    fallback_used: bool = False


@dataclass
class Ring:
    reach: dict[int, Reach]
    steps: list[Step]
    timeout: float  # the whole ring gives up after this many seconds
    tail: float | None  # after the last step: how long it may ring (one-at-a-time plans)
    index: int = -1
    live: dict[str, Leg] = field(default_factory=dict)
    last_code: int | None = None
    winner: Leg | None = None

    def has_next(self) -> bool:
        return self.index + 1 < len(self.steps)

    def delay_to_next(self) -> float | None:
        """Seconds from the current step to the next, or None after the last."""
        if not self.has_next():
            return None
        return self.steps[self.index + 1].at - self.steps[self.index].at

    def advance(self) -> tuple[list[Reach], list[Leg]]:
        """Move to the next step: (members to start ringing, legs to cancel)."""
        self.index += 1
        want = self.steps[self.index].ring
        ringing = {leg.key for leg in self.live.values()}
        start = [self.reach[k] for k in sorted(want - ringing) if k in self.reach]
        stop = [leg for leg in self.live.values() if leg.key not in want]
        return start, stop


def single(key: int, target: Target, fallback: Target | None, timeout: float) -> Ring:
    """One phone (an extension, a mobile, an external number) for `timeout` seconds."""
    return Ring(
        reach={key: Reach(key, target, fallback)},
        steps=[Step(0.0, frozenset({key}))],
        timeout=timeout,
        tail=timeout,
    )
