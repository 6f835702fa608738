""" "Call back" through the real bot and a fake Bot API (issue 13.5 and 13.6).

A missed call is recorded as the engine records it; the outbox delivers its alerts
through the same fake Telegram. Only a recipient the PBX can ring (a phone, or a mobile)
gets the "Call back" button. Pressing it with a phone that is not registered (Kamailio's
`location`) says so in the user's language and offers the mobile, and only the mobile
button puts a request onto the engine's Redis list, naming the mobile.

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from notifications.outbox import Channel
from notifications.telegram import TelegramSender
from notifications.worker import OutboxWorker
from pbx.config import Settings
from pbx.engine.records import CallRecord
from pbx.engine.routing import Direction
from pbx.engine.states import Result
from pbx.services.cabinet import Actor, Cabinet
from storage.cdr import PgCallRecords
from storage.queues import DIAL_REQUESTS
from tests.support.bot import bot_settings, join_as, running_bot, sign_up
from tests.support.fake_telegram import BotMessage, FakeTelegram, TgUser
from tests.support.redis_db import private_redis

pytestmark = pytest.mark.e2e

TG_PORT = 27760
CALL_BACK_DB = 6  # a Redis database of its own, emptied first
# Per-run user ids, ten per test: the FSM state in the shared Redis never leaks.
_ids = itertools.count(2_776_000_000 + (os.getpid() % 10_000) * 100, 10)
CLIENT = "79161234567"


@dataclass
class Office:
    tg: FakeTelegram
    cabinet: Cabinet
    redis: aioredis.Redis
    pool: asyncpg.Pool
    owner: Actor
    people: dict[str, TgUser]  # olga (owner, no phone), anna, boris, vera
    ids: dict[str, int]  # employee ids


@pytest.fixture
async def office(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[Office]:
    settings = bot_settings(base_settings, tmp_path / "data", "botcb.test")
    # The worker below takes every due Telegram row: start from none (other tests'
    # alerts, e.g. statements, may still be pending in the shared database).
    await pool.execute("DELETE FROM outbox")
    async with (
        private_redis(base_settings, CALL_BACK_DB) as redis,
        running_bot(pool, TG_PORT, settings, redis) as (tg, _, cabinet),
    ):
        base = next(_ids)
        olga = TgUser(base + 1, "Olga")
        owner = await sign_up(cabinet, olga, "Call Back Co")
        tg.add_user(olga)
        people = {"olga": olga}
        ids: dict[str, int] = {}
        # Anna: a registered phone. Boris: no usable phone (device off), no mobile.
        # Vera: a phone that is not registered, and a mobile.
        for n, (name, ext, mobile, lang) in enumerate(
            [("anna", "101", None, "en"), ("boris", "102", None, "en"), ("vera", "103", "+79990001122", "ru")],
            start=2,
        ):  # fmt: skip
            ids[name] = (await cabinet.add_employee(owner, name.title(), ext, None, mobile)).id
            people[name] = TgUser(base + n, name.title(), language_code=lang)
            await join_as(cabinet, owner, ext, people[name])
            tg.add_user(people[name])
        await pool.execute(
            "UPDATE sip_devices SET enabled = false WHERE employee_id = $1", ids["boris"]
        )
        await pool.execute(
            """INSERT INTO location (ruid, username, domain, contact, expires)
               SELECT md5(random()::text), d.username, c.sip_domain, 'sip:a@192.0.2.1:5060', $2
                 FROM sip_devices d JOIN companies c ON c.id = d.company_id
                WHERE d.employee_id = $1""",
            ids["anna"],
            datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
        )
        trunk = await cabinet.prov.add_trunk(
            owner.company_id, "carrier", "192.0.2.9", 5060, "u", "p"
        )
        did = f"7495{base % 10**7:07d}"  # numbers are unique across companies
        await cabinet.prov.add_number(owner.company_id, did, trunk.id, "101")
        yield Office(tg, cabinet, redis, pool, owner, people, ids)


async def missed_call_alerts(office: Office) -> dict[str, BotMessage]:
    """A client's unanswered call to the three employees, delivered to everyone concerned."""
    now = datetime.now(UTC)
    await PgCallRecords(office.pool)(
        CallRecord(
            sip_call_id=f"cb-{uuid.uuid4().hex}",
            company_id=office.owner.company_id,
            direction=Direction.INBOUND,
            caller=CLIENT,
            callee="74950000001",
            started_at=now - timedelta(seconds=30),
            ended_at=now,
            result=Result.NO_ANSWER,
            hangup_cause="no_answer",
            sip_code=480,
            target="group:sales",
            concerned=tuple(office.ids.values()),
        )
    )
    bot = office.tg.make_bot()
    try:
        worker = OutboxWorker(office.pool, {Channel.TELEGRAM: TelegramSender(bot)})
        assert await worker.run_once() == 4
    finally:
        await bot.session.close()
    return {name: await office.tg.next_message(u.id) for name, u in office.people.items()}


async def press(office: Office, name: str, message: BotMessage, data: str) -> dict[str, Any]:
    """Press a button; the bot's answer to the query (answerCallbackQuery)."""
    update = await office.tg.press(office.people[name], message, data)
    qid = update["callback_query"]["id"]
    call = await office.tg.wait_for_call(
        "answerCallbackQuery", lambda p: p.get("callback_query_id") == qid, timeout=10
    )
    return call.params


async def requests(redis: aioredis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in await redis.lrange(DIAL_REQUESTS, 0, -1)]


async def test_call_back_only_for_those_who_can_be_rung(office: Office) -> None:
    alerts = await missed_call_alerts(office)
    call_id = await office.pool.fetchval(
        "SELECT id FROM calls WHERE company_id = $1", office.owner.company_id
    )
    assert alerts["anna"].buttons == [("Call back", f"cb:call:{call_id}")]
    assert alerts["vera"].buttons == [("Перезвонить", f"cb:call:{call_id}")]  # by mobile
    assert alerts["boris"].buttons == []  # no phone, no mobile
    assert alerts["olga"].buttons == []  # the owner has no phone in the company
    assert "Missed call from 79161234567" in (alerts["olga"].text or "")


async def test_unregistered_phone_says_why_and_offers_the_mobile(office: Office) -> None:
    alerts = await missed_call_alerts(office)
    [(_, data)] = alerts["vera"].buttons
    assert data is not None
    await press(office, "vera", alerts["vera"], data)
    why = await office.tg.next_message(office.people["vera"].id)
    text = why.text or ""
    assert "Ваш телефон не зарегистрирован" in text and "/my_sip" in text, text
    assert "79161234567" in text, text
    mobile_data = data.replace("cb:call:", "cb:mob:")
    assert why.buttons == [("📱 Позвонить на мой мобильный 79990001122", mobile_data)]
    assert await requests(office.redis) == []  # nothing would have rung: nothing asked

    answer = await press(office, "vera", why, mobile_data)
    assert "Сейчас зазвонит ваш мобильный 79990001122" in answer.get("text", ""), answer
    [req] = await requests(office.redis)
    assert (req["ext"], req["client"], req["agent_mobile"]) == ("103", CLIENT, "79990001122")
    assert req["employee_id"] == office.ids["vera"]


async def test_registered_phone_rings_and_no_phone_no_mobile_is_told(office: Office) -> None:
    alerts = await missed_call_alerts(office)
    [(_, data)] = alerts["anna"].buttons
    assert data is not None
    answer = await press(office, "anna", alerts["anna"], data)
    assert "Your phone rings now" in answer.get("text", ""), answer
    [req] = await requests(office.redis)
    assert (req["ext"], req["client"], req["agent_mobile"]) == ("101", CLIENT, "")

    # The same request from somebody without a registered phone or a mobile (a button
    # from an older alert): told why, offered nothing, nothing asked of the engine.
    boris = office.people["boris"]
    await office.tg.press(boris, alerts["boris"], data, check=False)
    why = await office.tg.next_message(boris.id)
    assert "Your phone is not registered" in (why.text or "") and why.buttons == [], why
    assert len(await requests(office.redis)) == 1
