"""Call logic with a fake signalling layer, a fake directory and a fake clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from pbx.engine.calls import Result
from pbx.engine.events import (
    CalleeGone,
    CallerGone,
    CallOffered,
    EngineDied,
    LegAnswered,
    LegFailed,
    LegRinging,
    RecordingDone,
)
from pbx.engine.recording import RecordingRequest
from pbx.engine.routing import Company, Did, Direction
from tests.support.engine import (
    CARRIER,
    EDGE,
    Harness,
    device_offer,
)


@pytest.fixture
def h() -> Harness:
    return Harness()


async def test_internal_call_answered_and_recorded_once(h: Harness) -> None:
    await h.feed(device_offer())
    _, call_id, leg, target = h.originated()
    assert (target.user, target.host, target.proxy, target.caller_id) == (
        "102",
        "c1.pbx.test",
        (EDGE, 5060),
        "101",
    )
    h.clock.advance(3)
    await h.feed(LegRinging(call_id, leg))
    h.clock.advance(2)
    await h.feed(LegAnswered(call_id, leg))
    h.clock.advance(40)  # longer than the no-answer timeout: it must have been disarmed
    await h.feed(CalleeGone(call_id, leg), CallerGone(call_id))
    assert len(h.records) == 1
    rec = h.records[0]
    assert rec.result is Result.ANSWERED and rec.direction is Direction.INTERNAL
    assert rec.hangup_cause == "callee_hangup"
    assert (rec.answered_at - rec.started_at).total_seconds() == 5
    assert (rec.ended_at - rec.started_at).total_seconds() == 45
    assert (rec.caller_employee_id, rec.callee_employee_id) == (11, 12)
    assert not any(c[0] == "reject" for c in h.sig.commands)


@pytest.mark.parametrize(
    ("code", "reply", "result", "cause"),
    [
        (486, 486, Result.BUSY, "busy"),
        (404, 480, Result.FAILED, "unregistered"),
        (480, 480, Result.NO_ANSWER, "no_answer"),
        (500, 503, Result.FAILED, "callee_error_500"),
    ],
)
async def test_callee_failure_maps_to_caller_response(
    h: Harness, code: int, reply: int, result: Result, cause: str
) -> None:
    await h.feed(device_offer())
    _, call_id, leg, _ = h.originated()
    await h.feed(LegFailed(call_id, leg, code, "x"))
    assert ("reject", call_id, reply) in h.sig.commands
    assert [(r.result, r.hangup_cause, r.sip_code) for r in h.records] == [(result, cause, code)]


async def test_no_answer_timeout_cancels_leg_and_answers_480(h: Harness) -> None:
    await h.feed(device_offer())
    _, call_id, leg, _ = h.originated()
    await h.feed(LegRinging(call_id, leg))
    h.clock.advance(29.9)
    await h.mgr.drain()
    assert h.records == []
    h.clock.advance(0.2)
    await h.mgr.drain()
    assert ("cancel", call_id, leg) in h.sig.commands
    assert ("reject", call_id, 480) in h.sig.commands
    # The 487 that follows our CANCEL is not a second outcome.
    await h.feed(LegFailed(call_id, leg, 487, "Request Terminated"))
    assert [(r.result, r.hangup_cause) for r in h.records] == [
        (Result.NO_ANSWER, "no_answer_timeout")
    ]


async def test_caller_cancel_while_ringing_is_missed(h: Harness) -> None:
    await h.feed(device_offer())
    _, call_id, leg, _ = h.originated()
    await h.feed(LegRinging(call_id, leg), CallerGone(call_id), LegFailed(call_id, leg, 487, "x"))
    assert [(r.result, r.hangup_cause) for r in h.records] == [(Result.MISSED, "caller_cancel")]
    assert h.records[0].answered_at is None


async def test_other_company_extension_is_unreachable(h: Harness) -> None:
    await h.feed(device_offer(host="c2.pbx.test", to="101"))
    assert not any(c[0] == "originate" for c in h.sig.commands)
    assert h.sig.commands == [("reject", "c-1", 403)]
    assert h.records[0].hangup_cause == "other_company" and h.records[0].company_id == 1


async def test_unknown_extension_404_and_self_call_busy(h: Harness) -> None:
    await h.feed(device_offer(to="555"), device_offer(call_id="c-2", to="101"))
    assert ("reject", "c-1", 404) in h.sig.commands
    assert ("reject", "c-2", 486) in h.sig.commands


async def test_outbound_goes_through_company_trunk_with_company_number(h: Harness) -> None:
    await h.feed(
        device_offer(
            to="+7 (916) 000-11-22".replace(" ", "")
            .replace("(", "")
            .replace(")", "")
            .replace("-", "")
        )
    )
    _, _, _, target = h.originated()
    assert (target.user, target.host, target.proxy) == ("79160001122", CARRIER, None)
    assert (target.caller_id, target.username, target.password) == ("74951234567", "acct", "secret")


async def test_outbound_without_trunk_is_refused(h: Harness) -> None:
    await h.feed(
        device_offer(user="101", domain="c2.pbx.test", host="c2.pbx.test", to="79160001122")
    )
    assert h.sig.commands == [("reject", "c-1", 403)]
    assert h.records[0].direction is Direction.OUTBOUND and h.records[0].hangup_cause == "no_trunk"


async def test_inbound_from_trunk_rings_number_target(h: Harness) -> None:
    offer = CallOffered(
        "in-1", "74951234567", "203.0.113.1", "79990001122", CARRIER, None, CARRIER, 5060
    )
    await h.feed(offer)
    _, _, _, target = h.originated()
    assert (target.user, target.host, target.caller_id) == ("102", "c1.pbx.test", "79990001122")
    await h.feed(CallerGone("in-1"))
    rec = h.records[0]
    assert (rec.direction, rec.result, rec.number_id, rec.trunk_id) == (
        Direction.INBOUND,
        Result.MISSED,
        7,
        5,
    )


async def test_a_blocked_company_neither_calls_nor_is_called(h: Harness) -> None:
    h.directory.companies[1] = Company(1, "c1.pbx.test", blocked=True)
    offer = CallOffered(
        "in-1", "74951234567", "203.0.113.1", "79990001122", CARRIER, None, CARRIER, 5060
    )
    await h.feed(device_offer(to="102"), offer)
    assert not any(c[0] == "originate" for c in h.sig.commands)
    assert h.sig.commands == [("reject", "c-1", 403), ("reject", "in-1", 480)]
    assert [(r.company_id, r.hangup_cause) for r in h.records] == [(1, "company_blocked")] * 2


async def test_the_plans_channels_per_number_then_busy(h: Harness) -> None:
    h.directory.did_ = Did(7, 1, "74951234567", 5, "102", channels=1)

    def offer(call_id: str) -> CallOffered:
        return CallOffered(
            call_id, "74951234567", "203.0.113.1", "79990001122", CARRIER, None, CARRIER, 5060
        )

    await h.feed(offer("in-1"), offer("in-2"))
    assert ("reject", "in-2", 486) in h.sig.commands
    assert next(c for c in h.sig.commands if c[0] == "originate")[1] == "in-1"
    busy = next(r for r in h.records if r.hangup_cause == "channels_busy")
    assert busy.number_id == 7 and busy.result is Result.BUSY
    await h.feed(CallerGone("in-1"), offer("in-3"))  # a channel is free again
    assert ("reject", "in-3", 486) not in h.sig.commands
    assert [c[1] for c in h.sig.commands if c[0] == "originate"] == ["in-1", "in-3"]


async def test_identity_headers_from_another_socket_of_the_edge_host_are_ignored(
    h: Harness,
) -> None:
    forged = CallOffered(
        "f",
        "102",
        "c1.pbx.test",
        "101",
        "c1.pbx.test",
        None,
        EDGE,
        5999,
        headers={"x-pbx-user": "101", "x-pbx-domain": "c1.pbx.test"},
    )
    await h.feed(forged)
    assert h.sig.commands == [("reject", "f", 403)]


async def test_registration_trunk_number_in_to_header(h: Harness) -> None:
    offer = CallOffered(
        "in-2",
        "acct",
        "198.51.100.1",
        "79990001122",
        CARRIER,
        None,
        CARRIER,
        5060,
        to_user="+7 495 123-45-67",
    )
    await h.feed(offer)
    _, _, _, target = h.originated()
    assert (target.user, target.caller_id) == ("102", "79990001122")


async def test_stranger_is_refused_without_record(h: Harness) -> None:
    await h.feed(
        CallOffered(
            "x",
            "102",
            "c1.pbx.test",
            "101",
            "c1.pbx.test",
            None,
            "192.0.2.9",
            5060,
            headers={"x-pbx-user": "101", "x-pbx-domain": "c1.pbx.test"},
        )
    )
    assert h.sig.commands == [("reject", "x", 403)]
    assert h.records == []


async def test_engine_death_ends_every_call(h: Harness) -> None:
    await h.feed(device_offer("a"), device_offer("b"))
    _, call_id, leg, _ = h.originated()
    await h.feed(LegAnswered(call_id, leg), EngineDied("boom"))
    assert sorted((r.sip_call_id, r.result, r.hangup_cause) for r in h.records) == [
        ("a", Result.ANSWERED, "engine_died"),
        ("b", Result.FAILED, "engine_died"),
    ]
    assert h.mgr.engine_dead == "boom" and h.mgr.calls == {}


async def test_hangups_during_shutdown_are_recorded_as_shutdown(h: Harness) -> None:
    await h.feed(device_offer("a"), device_offer("b"))
    _, call_id, leg, _ = h.originated()
    await h.feed(LegAnswered(call_id, leg))
    h.mgr.stopping = True
    await h.feed(CallerGone("a"))  # the adapter's BYE at stop comes back as an event
    await h.mgr.shutdown()  # "b" never heard back: recorded all the same
    assert sorted((r.sip_call_id, r.result, r.hangup_cause) for r in h.records) == [
        ("a", Result.ANSWERED, "shutdown"),
        ("b", Result.FAILED, "shutdown"),
    ]


async def test_do_not_disturb_answers_busy(h: Harness) -> None:
    await h.feed(device_offer(to="103"))
    assert h.sig.commands == [("reject", "c-1", 486)]
    assert (h.records[0].result, h.records[0].hangup_cause) == (Result.BUSY, "dnd")


async def test_forward_always_rings_the_mobile_through_the_trunk(h: Harness) -> None:
    await h.feed(device_offer(to="104"))
    _, _, _, target = h.originated()
    assert (target.user, target.host, target.caller_id) == ("79161112233", CARRIER, "74951234567")


async def test_forward_when_unregistered_tries_the_mobile_after_404(h: Harness) -> None:
    await h.feed(device_offer(to="105"))
    _, call_id, leg, target = h.originated()
    assert target.host == "c1.pbx.test"
    await h.feed(LegFailed(call_id, leg, 404, "Not Found"))
    second = [c for c in h.sig.commands if c[0] == "originate"][1]
    assert (second[2], second[3].user) == ("b2", "79164445566")
    assert not any(c[0] == "reject" for c in h.sig.commands)
    await h.feed(LegAnswered(call_id, "b2"), CallerGone(call_id))
    assert h.records[0].result is Result.ANSWERED
    assert h.records[0].callee_uri == f"sip:79164445566@{CARRIER}"


class FakePolicy:
    """Records calls answered by employee 12 (Boris) only."""

    def __init__(self) -> None:
        self.asked: list[RecordingRequest] = []
        self.kept: list[tuple[int, str, str, float]] = []

    async def path_for(self, req: RecordingRequest, now: datetime) -> str | None:
        self.asked.append(req)
        return f"/rec/{req.sip_call_id}.wav" if req.callee_employee_id == 12 else None

    async def recorded(
        self, company_id: int, sip_call_id: str, wav: str, seconds: float, now: datetime
    ) -> None:
        self.kept.append((company_id, sip_call_id, wav, seconds))


async def test_answered_call_is_recorded_and_kept_after_it_ended() -> None:
    policy = FakePolicy()
    h = Harness(recording=policy)
    await h.feed(device_offer())
    _, call_id, leg, _ = h.originated()
    await h.feed(LegRinging(call_id, leg), LegAnswered(call_id, leg))
    assert ("record_call", "c-1", "/rec/c-1.wav") in h.sig.commands
    [req] = policy.asked
    assert (req.company_id, req.direction, req.caller_employee_id, req.callee_employee_id) == (
        1,
        "internal",
        11,
        12,
    )
    await h.feed(CallerGone(call_id))
    assert h.records and h.records[0].result is Result.ANSWERED
    # The relay finishes the file after the call is gone: it is still kept.
    await h.feed(RecordingDone(call_id, "/rec/c-1.wav", 12.5))
    assert policy.kept == [(1, "c-1", "/rec/c-1.wav", 12.5)]
    await h.feed(RecordingDone(call_id, "/rec/c-1.wav", 12.5))  # not twice
    assert len(policy.kept) == 1


async def test_policy_says_no_nothing_is_recorded() -> None:
    policy = FakePolicy()
    h = Harness(recording=policy)
    await h.feed(device_offer(to="101", user="102", call_id="c-2"))
    _, call_id, leg, _ = h.originated()
    await h.feed(LegAnswered(call_id, leg))
    assert len(policy.asked) == 1
    assert not [c for c in h.sig.commands if c[0] == "record_call"]
