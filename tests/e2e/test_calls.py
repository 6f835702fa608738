"""Real calls: pjsua2 phones register through Kamailio and call through the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbx.app import Service
from pbx.services import Provisioning
from storage.presence import RedisPresence
from tests.e2e.conftest import (
    CARRIER_IP,
    ENGINE_PORT,
    NO_ANSWER,
    Office,
    call_record,
    eventually,
    make_office,
)
from tests.support.calls import talk
from tests.support.phone import Phone

pytestmark = pytest.mark.e2e

CLIENT = "79990001122"


@pytest.fixture(scope="module")
async def office(prov: Provisioning) -> AsyncIterator[Office]:
    o = await make_office(prov, "Acme", ["101", "102", "103"], register=["101", "102"])
    yield o
    for phone in o.phones.values():
        await phone.close()


@pytest.fixture(scope="module")
async def carrier(prov: Provisioning, office: Office) -> AsyncIterator[Phone]:
    """A carrier's SIP peer on another address, IP-authenticated, owning one DID."""
    # The name is the From user: a client's number as the carrier presents it.
    phone = Phone(port=25190, name=CLIENT, host=CARRIER_IP)
    await phone.start()
    trunk = await prov.add_trunk(
        office.company_id,
        "carrier",
        CARRIER_IP,
        port=25190,
        auth_mode="ip",
        ip_addresses=[CARRIER_IP],
    )
    await prov.add_number(office.company_id, "74951234567", trunk.id, "102")
    yield phone
    await phone.close()


async def test_internal_call_audio_both_ways_and_record(
    pbx: Service, office: Office, tmp_path: Path
) -> None:
    a, b = office.phones["101"], office.phones["102"]
    a.mark(), b.mark()
    await a.call(office.uri("102"))
    incoming = await b.wait_incoming()
    assert "101" in incoming["from"]
    await b.answer()
    await a.wait_state("CONFIRMED")
    await b.wait_state("CONFIRMED")
    assert pbx.redis is not None
    presence = RedisPresence(pbx.redis)

    async def both_busy() -> bool:
        return len(await presence.on_call(office.company_id)) == 2

    await eventually(both_busy)  # shared "on a call" state, as the bot shows it
    await talk(a, b, tmp_path)
    await a.hangup()
    await b.wait_state("DISCONNECTED")

    async def idle() -> bool:
        return not await presence.on_call(office.company_id)

    await eventually(idle)
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert (rec["direction"], rec["result"], rec["caller"], rec["callee"]) == (
        "internal",
        "answered",
        "101",
        "102",
    )
    assert rec["hangup_cause"] == "caller_hangup"
    assert rec["started_at"] <= rec["answered_at"] < rec["ended_at"]
    assert (rec["ended_at"] - rec["answered_at"]).total_seconds() >= 1.5
    legs = await pbx.pool.fetch(
        "SELECT role FROM call_legs WHERE call_id = $1 ORDER BY role", rec["id"]
    )
    assert [r["role"] for r in legs] == ["callee", "caller"]


async def test_busy_gives_486(pbx: Service, office: Office) -> None:
    a, b = office.phones["101"], office.phones["102"]
    a.mark(), b.mark()
    await a.call(office.uri("102"))
    await b.wait_incoming()
    await b.reject(486)
    ended = await a.wait_state("DISCONNECTED")
    assert ended["last_status_code"] == 486
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert (rec["result"], rec["hangup_cause"]) == ("busy", "busy")


async def test_unregistered_gives_480(pbx: Service, office: Office) -> None:
    a = office.phones["101"]
    a.mark()
    await a.call(office.uri("103"))  # 103 exists but has no phone registered
    ended = await a.wait_state("DISCONNECTED")
    assert ended["last_status_code"] == 480
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert (rec["result"], rec["hangup_cause"]) == ("failed", "unregistered")


async def test_no_answer_cancels_callee_and_gives_480(pbx: Service, office: Office) -> None:
    a, b = office.phones["101"], office.phones["102"]
    a.mark(), b.mark()
    await a.call(office.uri("102"))
    await b.wait_incoming()
    ended = await a.wait_state("DISCONNECTED", timeout=NO_ANSWER + 5)
    assert ended["last_status_code"] == 480
    gone = await b.wait_state("DISCONNECTED")
    assert gone["last_status_code"] == 487  # CANCELled by the PBX
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert rec["result"] == "no_answer" and rec["answered_at"] is None, (
        rec["hangup_cause"],
        rec["sip_code"],
    )
    ring = (rec["ended_at"] - rec["started_at"]).total_seconds()
    assert NO_ANSWER <= ring < NO_ANSWER + 2


async def test_caller_cancel_reaches_callee(pbx: Service, office: Office) -> None:
    a, b = office.phones["101"], office.phones["102"]
    a.mark(), b.mark()
    await a.call(office.uri("102"))
    await b.wait_incoming()
    await a.wait_state("EARLY")  # 180 came back through the PBX
    await a.hangup()
    gone = await b.wait_state("DISCONNECTED")
    assert gone["last_status_code"] == 487
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert (rec["result"], rec["hangup_cause"]) == ("missed", "caller_cancel")


async def test_other_company_is_unreachable(
    pbx: Service, prov: Provisioning, office: Office
) -> None:
    other = await make_office(prov, "Rival", ["101"], register=["101"])
    try:
        intruder, victim = other.phones["101"], office.phones["101"]
        victim.mark()
        intruder.mark()
        await intruder.call(office.uri("102"))
        ended = await intruder.wait_state("DISCONNECTED")
        assert ended["last_status_code"] == 403
        with pytest.raises(TimeoutError):
            await victim.wait_incoming(timeout=0.5)
    finally:
        await other.phones["101"].close()


async def test_wrong_password_is_rejected(office: Office) -> None:
    creds = office.creds["103"]
    async with Phone(port=25180, name="intruder") as phone:
        ev = await phone.register(
            uri=f"sip:{creds.login}@{creds.domain}",
            registrar="sip:127.0.0.1:25060",
            username=creds.login,
            password="not-the-password",
            realm=creds.domain,
            expect_code=None,
        )
        assert ev["code"] in (401, 403) and not ev["active"]


async def test_inbound_from_trunk_rings_number_target(
    pbx: Service, office: Office, carrier: Phone, tmp_path: Path
) -> None:
    b = office.phones["102"]
    b.mark(), carrier.mark()
    await carrier.call(f"sip:74951234567@127.0.0.1:{ENGINE_PORT}")
    incoming = await b.wait_incoming()
    assert CLIENT in incoming["from"]  # the employee sees the client's number
    await b.answer()
    await carrier.wait_state("CONFIRMED")
    await talk(carrier, b, tmp_path)
    await b.hangup()
    await carrier.wait_state("DISCONNECTED")
    assert pbx.pool is not None and carrier.current_call_id
    rec = await call_record(pbx.pool, office.company_id, carrier.current_call_id)
    assert (rec["direction"], rec["result"], rec["callee"]) == (
        "inbound",
        "answered",
        "74951234567",
    )
    assert rec["hangup_cause"] == "callee_hangup" and rec["number_id"] is not None


async def test_outbound_through_trunk_with_company_number(
    pbx: Service, office: Office, carrier: Phone, tmp_path: Path
) -> None:
    a = office.phones["101"]
    a.mark(), carrier.mark()
    await a.call(office.uri("79160001122"))
    incoming = await carrier.wait_incoming()
    assert "79160001122" in incoming["request_uri"]
    assert "74951234567" in incoming["from"]  # the company number as caller ID
    await carrier.answer()
    await a.wait_state("CONFIRMED")
    await talk(a, carrier, tmp_path)
    await carrier.hangup()
    await a.wait_state("DISCONNECTED")
    assert pbx.pool is not None and a.current_call_id
    rec = await call_record(pbx.pool, office.company_id, a.current_call_id)
    assert (rec["direction"], rec["result"], rec["callee"]) == (
        "outbound",
        "answered",
        "79160001122",
    )
    assert rec["trunk_id"] is not None


async def test_stranger_cannot_use_the_engine(pbx: Service, office: Office) -> None:
    """Neither edge nor carrier: dropped unread by the engine's source guard."""
    dropped = (await pbx.metrics())["sip_dropped"]["untrusted"]
    office.phones["102"].mark()
    async with Phone(port=25185, name="stranger", host="127.0.0.9") as phone:
        await phone.call(f"sip:102@127.0.0.1:{ENGINE_PORT}")
        with pytest.raises(TimeoutError):
            await office.phones["102"].wait_incoming(timeout=2)
        assert not phone.saw_state("EARLY") and not phone.saw_state("CONFIRMED")
        assert (await pbx.metrics())["sip_dropped"]["untrusted"] > dropped
        await phone.hangup()


async def test_forged_identity_sent_straight_to_the_engine_is_refused(
    pbx: Service, office: Office
) -> None:
    # Same address as the edge, another socket: the identity headers prove nothing.
    office.phones["102"].mark()
    async with Phone(port=25186, name="forger") as phone:
        await phone.call(
            f"sip:102@127.0.0.1:{ENGINE_PORT}",
            headers={"X-PBX-User": "101", "X-PBX-Domain": office.domain},
        )
        ended = await phone.wait_state("DISCONNECTED")
        assert ended["last_status_code"] == 403
        with pytest.raises(TimeoutError):
            await office.phones["102"].wait_incoming(timeout=0.5)


async def test_the_plans_channels_per_number_busy_the_next_caller(
    pbx: Service, office: Office, carrier: Phone, tmp_path: Path
) -> None:
    """A number whose plan allows one channel: a second caller hears busy while the
    first rings, and gets through once the channel is free."""
    assert pbx.pool is not None
    pool, b = pbx.pool, office.phones["102"]
    # What apply_caps writes for a plan of one channel per number (presets have 10+).
    await pool.execute(
        "UPDATE companies SET channels_per_number = 1 WHERE id = $1", office.company_id
    )
    try:
        async with Phone(port=25191, name="79990003344", host=CARRIER_IP) as second:
            b.mark(), carrier.mark()
            await carrier.call(f"sip:74951234567@127.0.0.1:{ENGINE_PORT}")
            await b.wait_incoming()
            await carrier.wait_state("EARLY")
            first_leg = b.current_call_id

            await second.call(f"sip:74951234567@127.0.0.1:{ENGINE_PORT}")
            ended = await second.wait_state("DISCONNECTED")
            assert ended["last_status_code"] == 486
            assert second.current_call_id
            rec = await call_record(pool, office.company_id, second.current_call_id)
            assert (rec["result"], rec["hangup_cause"]) == ("busy", "channels_busy"), rec

            await carrier.hangup()  # the channel frees
            await b.wait_state("DISCONNECTED", call_id=first_leg)
            b.mark()
            await second.call(f"sip:74951234567@127.0.0.1:{ENGINE_PORT}")
            incoming = await b.wait_incoming()
            assert "79990003344" in incoming["from"]
            await b.answer()
            await second.wait_state("CONFIRMED")
            await talk(second, b, tmp_path)
            await b.hangup()
            await second.wait_state("DISCONNECTED")
    finally:
        await pool.execute(
            "UPDATE companies SET channels_per_number = NULL WHERE id = $1", office.company_id
        )
