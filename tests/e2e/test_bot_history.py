"""/calls and the call card through the real bot and a fake Bot API: a call that ended in
voicemail reads "voicemail" (as in the CLI), and every time is the company's local time,
named, in the list, on the card and in the recordings list (issue 13.2).

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet
from tests.support.bot import Chat, bot_settings, running_bot, sign_up
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27740
BASE_ID = 2_774_000_000 + (os.getpid() % 100_000) * 10
# 21:30 UTC is 00:30 the next day in Moscow (UTC+3) and 02:30 in Yekaterinburg (UTC+5).
T0 = datetime(2026, 3, 5, 21, 30, tzinfo=UTC)


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "bothist.test")
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


async def add_call(pool: asyncpg.Pool, company_id: int, result: str, answered: bool) -> int:
    sip = f"bh-{uuid.uuid4().hex}"
    call_id: int = await pool.fetchval(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee, started_at,
               answered_at, ended_at, result, hangup_cause)
           VALUES ($1, $2, 'inbound', '79161234567', '101', $3, $4, $5, $6, 'normal')
           RETURNING id""",
        company_id,
        sip,
        T0,
        T0 + timedelta(seconds=5) if answered else None,
        T0 + timedelta(seconds=40),
        result,
    )
    return call_id


async def test_voicemail_call_and_local_times_in_english(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, cabinet = bot_env
    user = TgUser(BASE_ID + 1, "Olga")
    owner = await sign_up(cabinet, user, "History Bot Co", "Europe/Moscow")
    await cabinet.set_recording(owner, {"mode": "all"})
    call_id = await add_call(pool, owner.company_id, "voicemail", answered=True)
    await pool.execute(
        """INSERT INTO recordings (company_id, sip_call_id, path, bytes, seconds)
           SELECT company_id, sip_call_id, 'recordings/x.ogg', 1, 35 FROM calls WHERE id = $1""",
        call_id,
    )
    olga = Chat(tg, user)

    page = await olga.say("/calls")
    text = page.text or ""
    assert "Recent calls (MSK):" in text, text
    assert "1. 03-06 00:30 ⬇ 79161234567 → 101 — voicemail" in text, text
    assert "failed" not in text, text

    await tg.press(user, page, f"call:{call_id}")
    card = (await olga.reply()).text or ""
    assert "Started: 2026-03-06 00:30:00 MSK" in card, card
    assert "Result: voicemail (normal)" in card, card
    assert "UTC" not in card, card

    listed = (await olga.say("/recordings")).text or ""
    assert "Recordings, times MSK" in listed, listed
    assert "03-06 00:30" in listed, listed


async def test_russian_card_in_a_zone_without_an_abbreviation(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, cabinet = bot_env
    user = TgUser(BASE_ID + 2, "Пётр", language_code="ru")
    owner = await sign_up(cabinet, user, "История", "Asia/Yekaterinburg")
    await add_call(pool, owner.company_id, "voicemail", answered=True)
    failed = await add_call(pool, owner.company_id, "failed", answered=False)
    petr = Chat(tg, user)

    page = await petr.say("/calls")
    text = page.text or ""
    assert "Последние звонки (UTC+05):" in text, text
    assert "03-06 02:30 ⬇ 79161234567 → 101 — голосовая почта" in text, text
    assert "03-06 02:30 ⬇ 79161234567 → 101 — не состоялся" in text, text

    await tg.press(user, page, f"call:{failed}")
    card = (await petr.reply()).text or ""
    assert "Начало: 2026-03-06 02:30:00 UTC+05" in card, card
    assert "Итог: не состоялся (normal)" in card, card
