"""Inbound scenarios end to end: a carrier's pjsua2 peer calls a company number; the
employees' pjsua2 phones (through Kamailio) ring by the group's algorithm, the caller
hears prompts and sends RFC 2833 digits, leaves voicemail, waits in a queue.

Alerts are checked in the outbox (exactly once) and delivered through the fake
Telegram Bot API and a real SMTP server.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
from aiosmtpd.controller import Controller

from notifications.email import EmailSender
from notifications.outbox import Channel
from notifications.telegram import TelegramSender
from notifications.worker import OutboxWorker
from pbx.app import Service
from pbx.engine.scenario import VoicemailState
from pbx.services import Provisioning
from pbx.services.audio import AudioKind, AudioService
from pbx.services.cabinet import Actor, Cabinet, TgUser
from tests.e2e.conftest import (
    ENGINE_PORT,
    Office,
    call_record,
    eventually,
    make_office,
    office_owner,
)
from tests.support.audio import generate_tone_wav, has_tone, read_wav
from tests.support.calls import talk
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_telegram import TgUser as FakeUser
from tests.support.phone import Phone

pytestmark = pytest.mark.e2e

CARRIER = "127.0.0.3"
CLIENT = "79990005566"
CLIENT2 = "79990007788"
NUMBER = "74957770001"
TG_PORT = 25401
SMTP_PORT = 25402
PROMPT_HZ = 700
_calls = itertools.count(1)


@dataclass
class Shop:
    office: Office
    owner: Actor
    cabinet: Cabinet
    carrier: Phone
    employee_tg: dict[str, int] = field(default_factory=dict)  # ext → Telegram id


async def link_telegram(
    pool: asyncpg.Pool, cabinet: Cabinet, company: int, ext: str, tg: int
) -> None:
    await cabinet.remember(TgUser(tg, f"Employee {ext}", None, "en"))
    await pool.execute(
        """INSERT INTO memberships (company_id, tg_id, role, employee_id)
           SELECT $1, $2, 'employee', employee_id FROM extensions
            WHERE company_id = $1 AND ext = $3""",
        company,
        tg,
        ext,
    )


@pytest.fixture(scope="module")
async def shop(pbx: Service, prov: Provisioning) -> AsyncIterator[Shop]:
    assert pbx.pool is not None and pbx.redis is not None
    office = await make_office(prov, "Shop", ["101", "102", "103"], ["101", "102", "103"])
    cabinet, owner = await office_owner(pbx, office, 7_700_000 + office.company_id)
    employee_tg = {}
    for ext in ("101", "102"):
        employee_tg[ext] = 7_800_000 + office.company_id * 10 + int(ext[-1])
        await link_telegram(pbx.pool, cabinet, office.company_id, ext, employee_tg[ext])
    carrier = Phone(port=25290, name=CLIENT, host=CARRIER)
    await carrier.start()
    trunk = await prov.add_trunk(
        office.company_id, "carrier", CARRIER, port=25290, auth_mode="ip", ip_addresses=[CARRIER]
    )
    await prov.add_number(office.company_id, NUMBER, trunk.id, "101")
    yield Shop(office, owner, cabinet, carrier, employee_tg)
    await carrier.close()
    for phone in office.phones.values():
        await phone.close()


async def dial_number(shop: Shop) -> str:
    shop.carrier.mark()
    for phone in shop.office.phones.values():
        phone.mark()
    await shop.carrier.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
    return str(shop.carrier.current_call_id)


async def outbox_rows(pool: asyncpg.Pool, company: int, call_row: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM outbox WHERE company_id = $1 AND payload->>'call_id' = $2",
        company,
        str(call_row),
    )
    return [dict(r) for r in rows]


async def test_ring_all_first_answer_wins_and_nobody_is_alerted(
    pbx: Service, shop: Shop, tmp_path: Path
) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "all", "ring_all")
    await c.set_group_members(owner, "all", ["101", "102"])
    await c.set_scenario(owner, NUMBER, {"open": "group:all", "schedule": "none"})
    call_id = await dial_number(shop)
    p101, p102 = shop.office.phones["101"], shop.office.phones["102"]
    await p101.wait_incoming()
    await p102.wait_incoming()
    await p102.answer()
    await shop.carrier.wait_state("CONFIRMED")
    await p101.wait_state("DISCONNECTED")  # the PBX stopped the other phone
    await talk(shop.carrier, p102, tmp_path)
    await shop.carrier.hangup()
    await p102.wait_state("DISCONNECTED")
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert (rec["result"], rec["target"]) == ("answered", "group:all")
    assert await outbox_rows(pbx.pool, shop.office.company_id, rec["id"]) == []


async def test_sequential_nobody_answers_one_alert_delivered_once(pbx: Service, shop: Shop) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "seq", "sequential")
    await c.set_group_members(owner, "seq", ["101", "102"])
    await c.set_group(owner, "seq", {"interval": "5", "timeout": "10"})
    await c.set_scenario(owner, NUMBER, {"open": "group:seq", "schedule": "none"})
    call_id = await dial_number(shop)
    p101, p102 = shop.office.phones["101"], shop.office.phones["102"]
    await p101.wait_incoming()
    with pytest.raises(TimeoutError):
        await p102.wait_incoming(timeout=3.5)  # not yet: one by one
    await p102.wait_incoming(timeout=4)
    await p101.wait_state("DISCONNECTED")
    ended = await shop.carrier.wait_state("DISCONNECTED", timeout=10)
    assert ended["last_status_code"] == 480
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert rec["result"] in ("no_answer", "missed")
    rows = await outbox_rows(pbx.pool, shop.office.company_id, rec["id"])
    recipients = sorted(r["recipient"] for r in rows)
    want = sorted(str(t) for t in (*shop.employee_tg.values(), shop.owner.tg_id))
    assert recipients == want and {r["kind"] for r in rows} == {"missed_call"}

    async with FakeTelegram(port=TG_PORT) as tg:
        for tg_id in recipients:
            tg.add_user(FakeUser(int(tg_id), "U"))
        bot = tg.make_bot()
        try:
            worker = OutboxWorker(pbx.pool, {Channel.TELEGRAM: TelegramSender(bot)})
            await worker.run_once()
            states = await outbox_rows(pbx.pool, shop.office.company_id, rec["id"])
            assert {(r["status"], r["attempts"]) for r in states} == {("sent", 1)}
            msg = await tg.next_message(shop.employee_tg["101"])
            assert CLIENT in (msg.text or "")
            assert msg.buttons == [("Call back", f"cb:call:{rec['id']}")]
            await worker.run_once()
            with pytest.raises(TimeoutError):  # delivered once
                await tg.next_message(shop.employee_tg["101"], timeout=0.5)
        finally:
            await bot.session.close()


async def test_cumulative_keeps_the_first_phone_ringing(pbx: Service, shop: Shop) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "grow", "cumulative")
    await c.set_group_members(owner, "grow", ["101", "102"])
    await c.set_group(owner, "grow", {"interval": "5", "timeout": "20"})
    await c.set_scenario(owner, NUMBER, {"open": "group:grow", "schedule": "none"})
    call_id = await dial_number(shop)
    p101, p102 = shop.office.phones["101"], shop.office.phones["102"]
    first = await p101.wait_incoming()
    await p102.wait_incoming(timeout=8)
    await p102.answer()
    await shop.carrier.wait_state("CONFIRMED")
    # 101 rang until 102 answered, and only then was stopped.
    await p101.wait_state("DISCONNECTED", call_id=first["call_id"])
    await shop.carrier.hangup()
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert rec["result"] == "answered"
    assert await outbox_rows(pbx.pool, shop.office.company_id, rec["id"]) == []


async def tone_audio(shop: Shop, tmp: Path, name: str, hz: int, seconds: float) -> None:
    wav = tmp / f"{name}.wav"
    generate_tone_wav(wav, hz, seconds)
    assert shop.cabinet.pool is not None
    audio = AudioService(shop.cabinet.pool, shop.cabinet.settings)
    await audio.add(shop.owner, AudioKind.IVR, name, wav.read_bytes(), wav.name)


async def test_menu_prompt_is_heard_and_a_digit_reaches_its_target(
    pbx: Service, shop: Shop, tmp_path: Path
) -> None:
    c, owner = shop.cabinet, shop.owner
    await tone_audio(shop, tmp_path, "menu700", PROMPT_HZ, 4.0)
    await c.set_menu(owner, "main", {"prompt": "menu700", "2": "ext:102", "ext": "off"})
    await c.set_scenario(owner, NUMBER, {"open": "menu:main", "schedule": "none"})
    call_id = await dial_number(shop)
    await shop.carrier.wait_state("CONFIRMED")  # the PBX answered to play the menu
    heard = tmp_path / "menu.wav"
    await shop.carrier.record_to(heard, max_ms=1500)
    await shop.carrier.wait_record_stopped()
    assert has_tone(heard, PROMPT_HZ), "the caller did not hear the menu prompt"
    await shop.carrier.send_dtmf("2")
    p102 = shop.office.phones["102"]
    await p102.wait_incoming()
    await p102.answer()
    await talk(shop.carrier, p102, tmp_path)
    await p102.hangup()
    await shop.carrier.wait_state("DISCONNECTED")
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert (rec["result"], rec["target"]) == ("answered", "ext:102")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.arrived.set()
        return "250 OK"


async def test_out_of_hours_voicemail_reaches_telegram_and_email(
    pbx: Service, shop: Shop, tmp_path: Path
) -> None:
    c, owner = shop.cabinet, shop.owner
    assert pbx.pool is not None
    await pbx.pool.execute(
        "UPDATE employees SET email = 'e101@shop.test' WHERE company_id = $1 AND id ="
        " (SELECT employee_id FROM extensions WHERE company_id = $1 AND ext = '101')",
        shop.office.company_id,
    )
    await c.set_hours(owner, "office", "mon-fri", "09:00-18:00")
    await c.set_override(owner, "office", "closed")
    await c.set_scenario(
        owner, NUMBER, {"open": "ext:101", "closed": "voicemail:101", "schedule": "office"}
    )
    call_id = await dial_number(shop)
    await shop.carrier.wait_state("CONFIRMED")
    # The greeting and the beep take a few seconds; then speak (a tone) and hang up.
    await shop.carrier.play_tone(440)
    await _recording_started(pbx)
    # The caller speaks (a tone) for two seconds, timed by the phone's own 2 s recording.
    await shop.carrier.record_to(tmp_path / "speaking.wav", max_ms=2000)
    await shop.carrier.wait_record_stopped()
    await shop.carrier.hangup()
    await shop.carrier.stop_audio()
    row = await eventually(
        lambda: pbx.pool.fetchrow(  # type: ignore[union-attr]
            "SELECT * FROM voicemails WHERE sip_call_id = $1", call_id
        ),
        timeout=15,
    )
    assert row["box"] == "101" and row["caller"] == CLIENT and row["duration_ms"] >= 1000
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert rec["result"] == "voicemail"
    ogg = Path(row["path"])
    decoded = tmp_path / "vm.wav"
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(ogg),
        "-ar",
        "8000",
        "-ac",
        "1",
        str(decoded),
    )
    assert await proc.wait() == 0
    assert has_tone(decoded, 440), "the message does not carry what the caller said"
    ogg_bytes = await asyncio.to_thread(ogg.read_bytes)

    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    try:
        async with FakeTelegram(port=TG_PORT) as tg:
            tg.add_user(FakeUser(shop.employee_tg["101"], "U"))
            tg.add_user(FakeUser(shop.owner.tg_id, "O"))
            bot = tg.make_bot()
            try:
                senders = {
                    Channel.TELEGRAM: TelegramSender(bot),
                    Channel.EMAIL: EmailSender(
                        host="127.0.0.1", port=SMTP_PORT, sender="pbx@shop.test", start_tls=False
                    ),
                }
                await OutboxWorker(pbx.pool, senders).run_once()
                msg = await tg.next_message(shop.employee_tg["101"])
                assert msg.method == "sendVoice" and msg.file is not None
                assert msg.file.data == ogg_bytes
                await asyncio.wait_for(box.arrived.wait(), 10)
            finally:
                await bot.session.close()
    finally:
        smtp.stop()
    [mail] = box.messages
    assert mail["To"] == "e101@shop.test"
    parts = [p for p in mail.walk() if p.get_filename()]
    assert parts and parts[0].get_payload(decode=True) == ogg_bytes


async def _recording_started(pbx: Service) -> None:
    """The engine's voicemail flow reached the recording step (no event to wait on)."""

    async def recording() -> bool:
        assert pbx.calls is not None
        return any(
            isinstance(c.flow, VoicemailState) and c.flow.recording
            for c in pbx.calls.calls.values()
        )

    await eventually(recording, timeout=15)


def audible(wav: Path) -> bool:
    samples, _ = read_wav(wav)
    return bool(samples.size) and float(np.sqrt(np.mean(samples**2))) > 0.01


@pytest.fixture(scope="module")
async def second_client(shop: Shop) -> AsyncIterator[Phone]:
    phone = Phone(port=25291, name=CLIENT2, host=CARRIER)
    await phone.start()
    yield phone
    await phone.close()


async def queue_setup(shop: Shop, callback: bool) -> None:
    c, owner = shop.cabinet, shop.owner
    if not await c.pool.fetchval(
        "SELECT 1 FROM ring_groups WHERE company_id = $1 AND name = 'agents'",
        shop.office.company_id,
    ):
        await c.add_group(owner, "agents")
        await c.set_group_members(owner, "agents", ["103"])
    await c.set_queue(
        owner,
        "support",
        {
            "group": "agents",
            "max_wait": "60",
            "ring": "15",
            "callback": "on" if callback else "off",
        },
    )
    await c.set_scenario(owner, NUMBER, {"open": "queue:support", "schedule": "none"})


async def test_queue_two_callers_one_agent_in_turn(
    pbx: Service, shop: Shop, second_client: Phone, tmp_path: Path
) -> None:
    await queue_setup(shop, callback=False)
    agent = shop.office.phones["103"]
    first_id = await dial_number(shop)
    await shop.carrier.wait_state("CONFIRMED")
    first_offer = await agent.wait_incoming()
    second_client.mark()
    await second_client.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
    await second_client.wait_state("CONFIRMED")
    waiting = tmp_path / "waiting.wav"
    await second_client.record_to(waiting, max_ms=1500)
    await second_client.wait_record_stopped()
    assert audible(waiting), "the waiting caller hears nothing"
    await agent.answer()
    await talk(shop.carrier, agent, tmp_path)
    with pytest.raises(TimeoutError):
        await agent.wait_incoming(timeout=2)  # busy with the first caller: nobody else rings
    agent.mark()
    await shop.carrier.hangup()
    await agent.wait_state("DISCONNECTED", call_id=first_offer["call_id"])
    await agent.wait_incoming(timeout=5)  # now the second caller's turn
    await agent.answer()
    await talk(second_client, agent, tmp_path)
    await second_client.hangup()
    assert pbx.pool is not None
    for call_id in (first_id, str(second_client.current_call_id)):
        rec = await call_record(pbx.pool, shop.office.company_id, call_id)
        assert (rec["result"], rec["target"]) == ("answered", "queue:support")


async def test_queue_callback_rings_the_agent_then_the_client(
    pbx: Service, shop: Shop, second_client: Phone, tmp_path: Path
) -> None:
    await queue_setup(shop, callback=True)
    agent = shop.office.phones["103"]
    await dial_number(shop)  # the first caller keeps the agent busy
    await shop.carrier.wait_state("CONFIRMED")
    first_offer = await agent.wait_incoming()
    await agent.answer()
    await agent.wait_state("CONFIRMED", call_id=first_offer["call_id"])
    second_client.mark()
    await second_client.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
    await second_client.wait_state("CONFIRMED")
    await second_client.send_dtmf("1")
    await second_client.wait_state("DISCONNECTED", timeout=15)  # "we will call you back"
    agent.mark(), shop.carrier.mark()
    await shop.carrier.hangup()
    await agent.wait_state("DISCONNECTED", call_id=first_offer["call_id"])
    # The agent is free: the PBX rings them first ...
    ring = await agent.wait_incoming(timeout=10)
    assert CLIENT2 in ring["from"]  # the agent sees whom they will talk to
    await agent.answer()
    # ... then dials the client through the carrier, from the company number.
    incoming = await shop.carrier.wait_incoming(timeout=10)
    assert CLIENT2 in incoming["request_uri"] and NUMBER in incoming["from"]
    await shop.carrier.answer()
    await talk(agent, shop.carrier, tmp_path)
    await agent.hangup()
    await shop.carrier.wait_state("DISCONNECTED")


async def test_call_back_button_rings_the_employee_then_the_client(
    pbx: Service, shop: Shop, tmp_path: Path
) -> None:
    assert pbx.pool is not None
    call_row = await pbx.pool.fetchval(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
               started_at, ended_at, result, hangup_cause)
           VALUES ($1, 'missed-for-callback', 'inbound', $2, $3, now(), now(), 'missed', 'x')
           RETURNING id""",
        shop.office.company_id,
        CLIENT2,
        NUMBER,
    )
    employee = await shop.cabinet.actor(shop.employee_tg["101"])
    assert employee is not None
    phone = shop.office.phones["101"]
    phone.mark(), shop.carrier.mark()
    placed = await shop.cabinet.call_back(employee, call_row)
    assert (placed.client, placed.placed) == (CLIENT2, True)
    await phone.wait_incoming(timeout=10)
    with pytest.raises(TimeoutError):
        await shop.carrier.wait_incoming(timeout=1)  # not before the employee picks up
    await phone.answer()
    incoming = await shop.carrier.wait_incoming(timeout=10)
    assert CLIENT2 in incoming["request_uri"]
    await shop.carrier.answer()
    await talk(phone, shop.carrier, tmp_path)
    await shop.carrier.hangup()
    await phone.wait_state("DISCONNECTED")


async def test_priority_rings_a_position_together_then_adds_the_next(
    pbx: Service, shop: Shop
) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "prio", "priority")
    await c.set_group_members(owner, "prio", ["101,102", "103"])
    await c.set_group(owner, "prio", {"interval": "5", "timeout": "20"})
    await c.set_scenario(owner, NUMBER, {"open": "group:prio", "schedule": "none"})
    call_id = await dial_number(shop)
    p101, p102, p103 = (shop.office.phones[e] for e in ("101", "102", "103"))
    await p101.wait_incoming()
    await p102.wait_incoming()
    with pytest.raises(TimeoutError):
        await p103.wait_incoming(timeout=3)
    await p103.wait_incoming(timeout=4)
    await p103.answer()
    await shop.carrier.wait_state("CONFIRMED")
    await p101.wait_state("DISCONNECTED")
    await p102.wait_state("DISCONNECTED")
    await shop.carrier.hangup()
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert rec["result"] == "answered"


async def test_least_idle_rings_the_longest_idle_member_first(pbx: Service, shop: Shop) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "idle", "least_idle")
    await c.set_group_members(owner, "idle", ["101", "102"])
    await c.set_group(owner, "idle", {"interval": "5", "timeout": "10"})
    await c.set_scenario(owner, NUMBER, {"open": "group:idle", "schedule": "none"})
    assert pbx.redis is not None and pbx.pool is not None
    ids = {
        r["ext"]: r["employee_id"]
        for r in await pbx.pool.fetch(
            "SELECT ext, employee_id FROM extensions WHERE company_id = $1",
            shop.office.company_id,
        )
    }
    now = time.time()
    # 101 finished a call 10 s ago, 102 100 s ago: 102 has been idle longest.
    await pbx.redis.hset(
        f"pbx:lastcall:{shop.office.company_id}",
        mapping={str(ids["101"]): str(now - 10), str(ids["102"]): str(now - 100)},
    )
    await dial_number(shop)
    p101, p102 = shop.office.phones["101"], shop.office.phones["102"]
    await p102.wait_incoming()
    with pytest.raises(TimeoutError):
        await p101.wait_incoming(timeout=2)
    await p101.wait_incoming(timeout=5)  # then the next
    await shop.carrier.hangup()
    await p101.wait_state("DISCONNECTED")


async def test_random_rings_one_member_at_a_time(pbx: Service, shop: Shop) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.add_group(owner, "dice", "random")
    await c.set_group_members(owner, "dice", ["101", "102"])
    await c.set_group(owner, "dice", {"interval": "5", "timeout": "10"})
    await c.set_scenario(owner, NUMBER, {"open": "group:dice", "schedule": "none"})
    await dial_number(shop)
    phones = [shop.office.phones["101"], shop.office.phones["102"]]
    first = await asyncio.wait_for(_first_to_ring(phones), timeout=10)
    other = phones[1 - phones.index(first)]
    with pytest.raises(TimeoutError):
        await other.wait_incoming(timeout=2)  # one at a time
    await other.wait_incoming(timeout=5)
    await first.wait_state("DISCONNECTED")
    await shop.carrier.hangup()


async def _first_to_ring(phones: list[Phone]) -> Phone:
    waits = {asyncio.ensure_future(p.wait_incoming(timeout=10)): p for p in phones}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return waits[next(iter(done))]


async def test_in_working_hours_the_open_target_rings(pbx: Service, shop: Shop) -> None:
    c, owner = shop.cabinet, shop.owner
    await c.set_hours(owner, "always", "all", "00:00-24:00")
    await c.set_scenario(
        owner, NUMBER, {"open": "ext:102", "closed": "hangup", "schedule": "always"}
    )
    call_id = await dial_number(shop)
    p102 = shop.office.phones["102"]
    await p102.wait_incoming()
    await p102.answer()
    await shop.carrier.wait_state("CONFIRMED")
    await shop.carrier.hangup()
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    assert (rec["result"], rec["target"]) == ("answered", "ext:102")


@pytest.mark.parametrize("algorithm", ["ring_all", "cumulative"])
async def test_nobody_answers_a_group_one_alert_per_recipient(
    pbx: Service, shop: Shop, algorithm: str
) -> None:
    c, owner = shop.cabinet, shop.owner
    name = f"miss-{algorithm.replace('_', '-')}"
    await c.add_group(owner, name, algorithm)
    await c.set_group_members(owner, name, ["101", "102"])
    await c.set_group(owner, name, {"interval": "5", "timeout": "6"})
    await c.set_scenario(owner, NUMBER, {"open": f"group:{name}", "schedule": "none"})
    call_id = await dial_number(shop)
    p101, p102 = shop.office.phones["101"], shop.office.phones["102"]
    await p101.wait_incoming()
    await p102.wait_incoming(timeout=7)
    ended = await shop.carrier.wait_state("DISCONNECTED", timeout=10)
    assert ended["last_status_code"] == 480
    await p101.wait_state("DISCONNECTED")
    await p102.wait_state("DISCONNECTED")
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, shop.office.company_id, call_id)
    rows = await outbox_rows(pbx.pool, shop.office.company_id, rec["id"])
    # Two phones rang; each employee and the owner hear about it exactly once.
    sent_to = [(r["channel"], r["recipient"]) for r in rows]
    assert len(sent_to) == len(set(sent_to))
    telegram = sorted(who for channel, who in sent_to if channel == "telegram")
    assert telegram == sorted(str(t) for t in (*shop.employee_tg.values(), shop.owner.tg_id))
