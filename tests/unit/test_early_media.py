"""What a caller hears before anyone answers is early media (183), not an answered call:
notice, greeting, ringback melody or tone, voicemail greeting and messages. The engine
answers (200) only for a menu, a queue or a recording; a call nobody answers ends with
its failure code."""

from __future__ import annotations

from dataclasses import replace

from pbx.engine.calls import Result
from pbx.engine.events import DtmfReceived, LegAnswered, LegRinging
from pbx.engine.plans import MenuPlan, NumberPlan
from pbx.engine.targets import Kind, Target
from tests.support.engine import FakeScenarios, Harness, client_call, harness, leg_of

TO_102 = NumberPlan("en", open_target=Target(Kind.EXT, "102"))


def commands(h: Harness, *names: str) -> list[tuple]:
    return [c for c in h.sig.commands if c[0] in names]


async def test_greeting_is_early_media_then_the_ringing_tone_while_the_phone_rings() -> None:
    h = harness(FakeScenarios(replace(TO_102, greeting="hello")))
    await h.feed(client_call())
    assert h.sig.commands == [("progress", "in-1"), ("play", "in-1", "/media/hello")]
    await h.tick(3)  # the greeting is over: the phone rings, the caller hears ringing
    assert commands(h, "play")[-1] == ("play", "in-1", "/media/ringback")
    leg = leg_of(h, "102")
    await h.feed(LegRinging("in-1", leg), LegAnswered("in-1", leg))
    assert "answer" not in h.sig.names()  # the phone's answer answers the caller
    assert h.mgr.calls["in-1"].answered is not None


async def test_nobody_answers_after_a_greeting_the_caller_gets_480_never_200() -> None:
    h = harness(FakeScenarios(replace(TO_102, greeting="hello", notice=True)))
    await h.feed(client_call())
    assert commands(h, "play") == [("play", "in-1", "/media/recorded")]
    await h.tick(3)
    assert commands(h, "play")[-1] == ("play", "in-1", "/media/hello")
    await h.tick(3)  # the phone rings
    assert commands(h, "play")[-1] == ("play", "in-1", "/media/ringback")
    await h.tick(30)  # for the whole no-answer time
    assert ("reject", "in-1", 480) in h.sig.commands
    assert "answer" not in h.sig.names() and "hangup" not in h.sig.names()
    rec = h.records[0]
    assert rec.result is Result.MISSED and rec.sip_code == 480 and rec.answered_at is None


async def test_the_companys_ringback_melody_plays_instead_of_ringing() -> None:
    h = harness(FakeScenarios(replace(TO_102, ringback="spring")))
    await h.feed(client_call())
    assert h.sig.commands[:2] == [("progress", "in-1"), ("play", "in-1", "/media/spring")]
    assert [c[3].user for c in commands(h, "originate")] == ["102"]


async def test_without_prompts_or_melody_the_phones_own_ringing_reaches_the_caller() -> None:
    h = harness(FakeScenarios(TO_102))
    await h.feed(client_call())
    assert h.sig.names() == ["originate"]


async def test_a_message_is_played_unanswered_and_the_call_refused() -> None:
    h = harness(FakeScenarios(NumberPlan("en", open_target=Target(Kind.MESSAGE, "closed"))))
    await h.feed(client_call())
    assert h.sig.commands == [("progress", "in-1"), ("play", "in-1", "/media/closed")]
    await h.tick(3)
    assert h.sig.commands[-1] == ("reject", "in-1", 480)
    assert "answer" not in h.sig.names()


async def test_a_menu_after_the_greeting_answers_because_it_needs_digits() -> None:
    menu = MenuPlan("main", "main-prompt", {"5": Target(Kind.EXT, "102")})
    plan = NumberPlan("en", open_target=Target(Kind.MENU, "main"), greeting="hello")
    h = harness(FakeScenarios(plan, menus={"main": menu}))
    await h.feed(client_call())
    assert h.sig.names() == ["progress", "play"]
    await h.tick(3)
    assert h.sig.commands[-2:] == [("answer", "in-1"), ("play", "in-1", "/media/main-prompt")]
    # No extension starts with 5 (they are 101-103): the option is taken at once.
    await h.feed(DtmfReceived("in-1", "5"))
    assert [c[3].user for c in commands(h, "originate")] == ["102"]
