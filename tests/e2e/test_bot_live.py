"""`/now` through the real bot and a fake Bot API: calls on the live board, phones and
queues; 🔄 Refresh edits the same message with what changed, in English and Russian. Needs
PostgreSQL and Redis only, on this test's own port."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from pbx.config import Settings
from pbx.engine.live import LiveCall
from pbx.services.cabinet import Cabinet
from pbx.services.cabinet import TgUser as CabinetUser
from storage.live import RedisLiveBoard
from tests.support.bot import Chat, bot_settings, running_bot
from tests.support.fake_telegram import FakeTelegram, TgUser
from tests.support.redis_db import private_redis

pytestmark = pytest.mark.e2e

TG_PORT = 27690
BASE_ID = 2_769_000_000 + (os.getpid() % 100_000) * 10
LIVE_DB = 4  # a Redis database of its own, emptied first


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet, aioredis.Redis]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botlive.test")
    async with (
        private_redis(base_settings, LIVE_DB) as redis,
        running_bot(pool, TG_PORT, settings, redis) as (tg, _, cabinet),
    ):
        yield tg, cabinet, redis


async def test_now_shows_calls_and_refresh_edits(
    bot_env: tuple[FakeTelegram, Cabinet, aioredis.Redis],
) -> None:
    tg, cabinet, redis = bot_env
    owner_user = TgUser(BASE_ID + 1, "Olga")
    _, owner = await cabinet.onboard(
        await cabinet.remember(CabinetUser(owner_user.id, "Olga", None, "en")),
        "Live Bot Co",
        "Europe/Moscow",
    )
    anna = await cabinet.add_employee(owner, "Anna", "101")
    olga = Chat(tg, owner_user)

    first = await olga.say("/now")
    text = first.text or ""
    assert re.search(r"Right now \(\d\d:\d\d:\d\d MSK\)", text), text  # the company's time
    assert "No calls in progress" in text and "⚪ 101 Anna" in text, text

    board = RedisLiveBoard(redis)
    started = datetime.now(UTC) - timedelta(seconds=75)
    await board.put(
        owner.company_id,
        LiveCall("c1", "inbound", "79161234567", "74951234567", "answered",
                 started.isoformat(), (), (anna.id,), "group:sales"),
    )  # fmt: skip
    await tg.press(owner_user, first, "live:refresh")
    edited = await olga.reply()
    assert edited.method == "editMessageText" and edited.message_id == first.message_id
    text = edited.text or ""
    assert "🗣 talking 1:1" in text and "79161234567 → 74951234567" in text, text
    assert "101 Anna" in text and "group:sales" in text, text

    ivan_user = TgUser(BASE_ID + 2, "Иван", language_code="ru")
    _, ivan = await cabinet.onboard(
        await cabinet.remember(CabinetUser(ivan_user.id, "Иван", None, "ru")),
        "Другая",
        "Europe/Moscow",
    )
    ivan_chat = Chat(tg, ivan_user)
    mine = await ivan_chat.say("/now")
    other = mine.text or ""
    assert "Сейчас звонков нет" in other and "79161234567" not in other, other
    assert ("🔄 Обновить", "live:refresh") in mine.buttons, mine.buttons

    await board.put(
        ivan.company_id,
        LiveCall("c2", "inbound", "79035550000", "74957654321", "ringing",
                 started.isoformat(), (), (), "menu:main"),
    )  # fmt: skip
    await tg.press(ivan_user, mine, "live:refresh")
    edited = await ivan_chat.reply()
    assert edited.method == "editMessageText" and edited.message_id == mine.message_id
    text = edited.text or ""
    assert "🔔 звонит" in text and "79035550000 → 74957654321" in text, text
    assert "menu:main" in text and "79161234567" not in text, text
