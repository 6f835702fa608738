"""The live board from the call logic: a call appears ringing, then talking, and is
gone when it ends; a failing board never touches the call."""

from __future__ import annotations

from pbx.engine.events import CallerGone, LegAnswered, LegRinging
from pbx.engine.live import Change, LiveCall
from tests.support.engine import (
    Harness,
    device_offer,
)


class FakeBoard:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: dict[str, LiveCall] = {}
        self.history: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []

    async def apply(self, changes: list[Change]) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        for company_id, call_id, entry in changes:
            assert company_id == 1
            if entry is None:
                self.calls.pop(call_id, None)
            else:
                self.calls[call_id] = entry
                self.history.append((entry.state, entry.ringing, entry.talking))


async def test_ringing_then_talking_then_gone() -> None:
    board = FakeBoard()
    h = Harness(live=board)
    await h.feed(device_offer())
    await h.mgr.live.idle()
    entry = board.calls["c-1"]
    assert (entry.caller, entry.callee, entry.direction) == ("101", "102", "internal")
    assert entry.ringing == (12,) and entry.talking == ()
    _, call_id, leg, _ = h.originated()
    await h.feed(LegRinging(call_id, leg), LegAnswered(call_id, leg))
    await h.mgr.live.idle()
    entry = board.calls["c-1"]
    assert (entry.state, entry.ringing, entry.talking) == ("answered", (), (11, 12))
    await h.feed(CallerGone(call_id))
    await h.mgr.live.idle()
    assert board.calls == {}
    assert board.history[-1][0] == "answered"  # nothing published after the end


async def test_a_failing_board_does_not_touch_the_call() -> None:
    h = Harness(live=FakeBoard(fail=True))
    await h.feed(device_offer())
    _, call_id, leg, _ = h.originated()
    await h.feed(LegAnswered(call_id, leg), CallerGone(call_id))
    await h.mgr.live.idle()
    assert [r.result.value for r in h.records] == ["answered"]
