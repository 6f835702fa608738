"""Inbound scenarios as pure call logic: groups wired to real ring plans, schedules,
menus with digits, voicemail — with a fake signalling layer and a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from pbx.engine.calls import Result
from pbx.engine.events import (
    CallerGone,
    DtmfReceived,
    LegAnswered,
    LegFailed,
    RecordingDone,
)
from pbx.engine.plans import (
    MenuPlan,
    NumberPlan,
)
from pbx.engine.ringplan import Algorithm
from pbx.engine.schedule import Schedule
from pbx.engine.targets import Kind, Target, parse
from pbx.errors import ValidationError
from tests.support.engine import (
    FakeScenarios,
    client_call,
    group,
    harness,
    leg_of,
    ringing_exts,
    to_group,
)


async def test_ring_all_rings_free_members_and_first_answer_wins() -> None:
    sc = FakeScenarios(to_group("sales"), {"sales": group("sales", Algorithm.RING_ALL)})
    sc.on_call = {12}  # Boris is talking: skipped; Dora is in DND: skipped
    h = harness(sc)
    await h.feed(client_call())
    assert ringing_exts(h) == ["101"]

    sc.on_call = set()
    h2 = harness(sc)
    await h2.feed(client_call("in-2"))
    assert sorted(ringing_exts(h2)) == ["101", "102"]
    await h2.feed(LegAnswered("in-2", leg_of(h2, "102")))
    assert ("cancel", "in-2", leg_of(h2, "101")) in h2.sig.commands
    await h2.feed(CallerGone("in-2"))
    rec = h2.records[0]
    assert (rec.result, rec.callee_employee_id, rec.missed) == (Result.ANSWERED, 12, False)


async def test_sequential_moves_on_after_the_interval_then_falls_back() -> None:
    sc = FakeScenarios(to_group("sales"), {"sales": group("sales", Algorithm.SEQUENTIAL)})
    h = harness(sc)
    await h.feed(client_call())
    assert ringing_exts(h) == ["101"]
    await h.tick(9.9)
    assert ringing_exts(h) == ["101"]
    await h.tick(0.2)
    assert ringing_exts(h) == ["101", "102"]
    assert ("cancel", "in-1", leg_of(h, "101")) in h.sig.commands
    await h.tick(10)  # Boris's interval is over: the group's fallback, voicemail
    assert ("cancel", "in-1", leg_of(h, "102")) in h.sig.commands
    # The box's greeting is early media; the caller is answered at the beep.
    tail = h.sig.commands[h.sig.commands.index(("cancel", "in-1", leg_of(h, "102"))) :]
    assert tail[1:3] == [("progress", "in-1"), ("play", "in-1", "/media/vm-common")]
    assert ("answer", "in-1") not in h.sig.commands
    await h.tick(3)
    assert h.sig.commands[-2:] == [("answer", "in-1"), ("play", "in-1", "/media/beep")]


async def test_cumulative_keeps_earlier_phones_ringing() -> None:
    sc = FakeScenarios(to_group("sales"), {"sales": group("sales", Algorithm.CUMULATIVE)})
    h = harness(sc)
    await h.feed(client_call())
    await h.tick(10)
    assert ringing_exts(h) == ["101", "102"]
    assert not any(c[0] == "cancel" for c in h.sig.commands)


async def test_a_busy_member_hands_over_at_once() -> None:
    sc = FakeScenarios(to_group("sales"), {"sales": group("sales", Algorithm.SEQUENTIAL)})
    h = harness(sc)
    await h.feed(client_call())
    await h.tick(1)
    await h.feed(LegFailed("in-1", leg_of(h, "101"), 486, "Busy"))
    assert ringing_exts(h) == ["101", "102"]


async def test_nobody_answers_one_missed_record_naming_the_members() -> None:
    plan = replace(to_group("sales"), fallback=Target(Kind.HANGUP))
    g = replace(group("sales", Algorithm.RING_ALL), fallback=Target(Kind.HANGUP))
    h = harness(FakeScenarios(plan, {"sales": g}))
    await h.feed(client_call())
    await h.tick(40)
    assert ("reject", "in-1", 480) in h.sig.commands
    for leg in ("b1", "b2"):
        await h.feed(LegFailed("in-1", leg, 487, "Terminated"))
    await h.feed(CallerGone("in-1"))
    assert len(h.records) == 1
    rec = h.records[0]
    assert rec.missed and rec.target == "hangup" and rec.concerned == (11, 12, 13)


async def test_schedule_closed_goes_to_voicemail_and_saves_the_message() -> None:
    closed = Schedule("Europe/Moscow", weekly={})  # no hours at all
    plan = NumberPlan(
        "ru",
        open_target=Target(Kind.EXT, "101"),
        closed_target=Target(Kind.VOICEMAIL, "101"),
        schedule=closed,
    )
    sc = FakeScenarios(plan)
    h = harness(sc)
    await h.feed(client_call())
    assert h.sig.names()[:2] == ["progress", "play"]
    await h.tick(3)  # greeting over: answered, then the beep
    assert h.sig.commands[-2:] == [("answer", "in-1"), ("play", "in-1", "/media/beep")]
    await h.tick(3)
    assert h.sig.commands[-1] == ("record", "in-1", "/spool/in-1.wav")
    await h.feed(CallerGone("in-1"))
    assert h.records == []  # still saving the message
    await h.feed(RecordingDone("in-1", "/spool/in-1.wav", 4.2))
    assert [(v.box, v.recipients, v.caller) for v in sc.voicemails] == [
        ("101", (11,), "79990001122")
    ]
    rec = h.records[0]
    assert rec.result is Result.VOICEMAIL and not rec.missed and rec.lang == "ru"


async def test_schedule_open_by_the_clock() -> None:
    # The harness clock is Monday 2026-11-23 12:00 UTC = 15:00 in Moscow.
    hours = Schedule("Europe/Moscow", weekly={"mon": [(time_(9), time_(18))]})
    assert hours.is_open(datetime.fromisoformat("2026-11-23T12:00:00+00:00"))
    assert not hours.is_open(datetime.fromisoformat("2026-11-23T16:00:00+00:00"))
    assert not replace(hours, override="closed").is_open(
        datetime.fromisoformat("2026-11-23T12:00:00+00:00")
    )
    plan = NumberPlan("en", open_target=Target(Kind.EXT, "101"), schedule=hours)
    h = harness(FakeScenarios(plan))
    await h.feed(client_call())
    assert ringing_exts(h) == ["101"]


def time_(hour: int) -> object:
    from datetime import time

    return time(hour)


def menu_plan() -> NumberPlan:
    return NumberPlan("en", open_target=Target(Kind.MENU, "main"))


MAIN = MenuPlan(
    "main",
    prompt="main-prompt",
    options={"1": Target(Kind.GROUP, "sales"), "2": Target(Kind.EXT, "102")},
    timeout=5,
    repeats=1,
    on_timeout=Target(Kind.EXT, "101"),
    on_invalid=Target(Kind.HANGUP),
)


async def test_menu_digit_goes_to_its_target_and_music_plays_while_ringing() -> None:
    sc = FakeScenarios(menu_plan(), {"sales": group("sales", Algorithm.RING_ALL)}, {"main": MAIN})
    h = harness(sc)
    await h.feed(client_call())
    assert h.sig.commands[:2] == [("answer", "in-1"), ("play", "in-1", "/media/main-prompt")]
    await h.feed(DtmfReceived("in-1", "1"))
    assert ("stop_play", "in-1") in h.sig.commands
    assert ringing_exts(h) == []  # "1" may be the start of extension 101: wait a moment
    await h.tick(2.5)
    assert ("play", "in-1", "/media/moh") in h.sig.commands
    assert sorted(ringing_exts(h)) == ["101", "102"]


async def test_menu_dial_by_extension_waits_for_the_whole_number() -> None:
    menu = replace(MAIN, options={"1": Target(Kind.GROUP, "sales")})
    h = harness(FakeScenarios(menu_plan(), {}, {"main": menu}))
    await h.feed(client_call())
    for d in "10":
        await h.feed(DtmfReceived("in-1", d))
    assert ringing_exts(h) == []
    await h.feed(DtmfReceived("in-1", "3"))  # 103 is Dora, in DND: the number's fallback
    await h.feed(DtmfReceived("in-1", "x"))
    h2 = harness(FakeScenarios(menu_plan(), {}, {"main": menu}))
    await h2.feed(client_call("in-2"))
    for d in "102":
        await h2.feed(DtmfReceived("in-2", d))
    assert ringing_exts(h2) == ["102"]


async def test_menu_timeout_repeats_then_takes_the_timeout_branch() -> None:
    h = harness(FakeScenarios(menu_plan(), {}, {"main": MAIN}))
    await h.feed(client_call())
    await h.tick(8)  # prompt 3 s + 5 s: repeat once
    assert [c for c in h.sig.commands if c[0] == "play"] == [
        ("play", "in-1", "/media/main-prompt")
    ] * 2
    await h.tick(8)
    assert ringing_exts(h) == ["101"]


async def test_menu_invalid_digit_plays_the_error_then_hangs_up() -> None:
    h = harness(FakeScenarios(menu_plan(), {}, {"main": MAIN}))
    await h.feed(client_call())
    await h.feed(DtmfReceived("in-1", "9"))
    assert h.sig.commands[-1] == ("play", "in-1", "/media/invalid")
    await h.tick(3)
    assert h.sig.commands[-1] == ("play", "in-1", "/media/main-prompt")
    await h.feed(DtmfReceived("in-1", "8"))
    assert h.sig.commands[-1] == ("hangup", "in-1")
    assert h.records[0].missed


async def test_caller_hangs_up_during_group_ringing_cancels_every_leg() -> None:
    sc = FakeScenarios(to_group("sales"), {"sales": group("sales", Algorithm.RING_ALL)})
    h = harness(sc)
    await h.feed(client_call())
    await h.feed(CallerGone("in-1"))
    cancelled = {c[2] for c in h.sig.commands if c[0] == "cancel"}
    assert cancelled == {"b1", "b2"}
    assert len(h.records) == 1 and h.records[0].missed


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("group:sales", Target(Kind.GROUP, "sales")),
        ("EXT:101", Target(Kind.EXT, "101")),
        ("forward:+7 916 123-45-67", None),
        ("forward:+79161234567", Target(Kind.FORWARD, "79161234567")),
        ("voicemail:common", Target(Kind.VOICEMAIL, "common")),
        ("hangup", Target(Kind.HANGUP)),
        ("menu:", None),
        ("queue", None),
        ("ext:1", None),
    ],
)
def test_target_strings(text: str, target: Target | None) -> None:
    if target is None:
        with pytest.raises(ValidationError):
            parse(text)
    else:
        assert parse(text) == target
        assert parse(str(target)) == target
