"""/recordings_zip through the real bot and a fake Bot API server: a progress message,
then the ZIP as a document; a bad filter, an empty period and an employee answered in
English and Russian.

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import csv
import io
import os
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from pbx.services.cabinet import TgUser as CabinetUser
from tests.support.bot import Chat, bot_settings, running_bot, sine
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27670
# Per-run user ids: the FSM state in the shared Redis never leaks between runs.
BASE_ID = 2_767_000_000 + (os.getpid() % 100_000) * 10
T0 = datetime(2026, 2, 3, 9, 30, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")  # the company's zone: file names are in its time
DAY = "2026-02-03..2026-02-03"


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Settings, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botexport.test")
    async with running_bot(pool, TG_PORT, settings) as env:
        yield env


async def add_recorded_call(
    pool: asyncpg.Pool, settings: Settings, company_id: int, started: datetime, caller: str
) -> tuple[str, bytes]:
    sip = f"bx-{uuid.uuid4().hex}"
    call_id = await pool.fetchval(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee, started_at,
               answered_at, ended_at, result, hangup_cause)
           VALUES ($1, $2, 'inbound', $3, '101', $4, $4, $5, 'answered', 'normal') RETURNING id""",
        company_id,
        sip,
        caller,
        started,
        started + timedelta(seconds=30),
    )
    rel = f"recordings/{company_id}/{call_id}.ogg"
    data = await sine(settings.data_dir / rel, 400 + call_id % 500, 0.5)
    await pool.execute(
        """INSERT INTO recordings (company_id, sip_call_id, path, bytes, seconds)
           VALUES ($1, $2, $3, $4, 30)""",
        company_id,
        sip,
        rel,
        len(data),
    )
    return f"{started.astimezone(MSK):%Y-%m-%d_%H%M}_inbound_{caller}-101_{call_id}.ogg", data


async def test_owner_gets_progress_then_the_zip(
    bot_env: tuple[FakeTelegram, Settings, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, settings, cabinet = bot_env
    owner_user = TgUser(BASE_ID + 1, "Olga")
    owner_tg = await cabinet.remember(CabinetUser(owner_user.id, "Olga", None, "en"))
    _, owner = await cabinet.onboard(owner_tg, "Export Bot Co", "Europe/Moscow")
    await cabinet.set_recording(owner, {"mode": "all"})
    files = dict(
        [
            await add_recorded_call(pool, settings, owner.company_id, T0, "79161234567"),
            await add_recorded_call(
                pool, settings, owner.company_id, T0 + timedelta(minutes=7), "79167654321"
            ),
        ]
    )
    await add_recorded_call(pool, settings, owner.company_id, T0 - timedelta(days=2), "7916")
    olga = Chat(tg, owner_user)

    progress = await olga.say(f"/recordings_zip {DAY}")
    assert progress.method == "sendMessage"
    assert progress.text == "Preparing the recordings… 0/2", progress.text
    reply = await olga.reply()
    while reply.method == "editMessageText":  # the count going up, on the same message
        assert reply.message_id == progress.message_id and "/2" in (reply.text or "")
        reply = await olga.reply()
    assert reply.method == "sendDocument" and reply.file is not None, reply
    shown = tg.current_message(owner_user.id, progress.message_id) or {}
    assert shown.get("text") == "Preparing the recordings… 2/2", shown
    assert "2 recordings" in (reply.text or "")
    zf = zipfile.ZipFile(io.BytesIO(reply.file.data))
    assert sorted(zf.namelist()) == sorted([*files, "index.csv"])
    assert all(zf.read(name) == data for name, data in files.items())
    index = list(csv.DictReader(io.TextIOWrapper(zf.open("index.csv"), "utf-8")))
    assert [r["caller"] for r in index] == ["79161234567", "79167654321"]

    empty = await olga.say("/recordings_zip 2025-01-01..2025-01-02")
    assert "No recordings match" in (empty.text or ""), empty.text
    bad = await olga.say("/recordings_zip lately")
    assert "Unknown filter “lately”" in (bad.text or ""), bad.text

    # An employee may not export.
    await cabinet.add_employee(owner, "Ivan", "105")
    invite = await cabinet.invite(owner, "105", Role.EMPLOYEE)
    ivan_user = TgUser(BASE_ID + 2, "Ivan")
    await cabinet.join(
        await cabinet.remember(CabinetUser(ivan_user.id, "Ivan", None, "en")), invite.token
    )
    refused = await Chat(tg, ivan_user).say(f"/recordings_zip {DAY}")
    assert "does not allow" in (refused.text or ""), refused.text
    # The sent ZIP is not kept on disk (checked last: the bot deletes it once Telegram
    # has answered the upload, a moment after the fake recorded the document).
    assert list((settings.data_dir / "exports").iterdir()) == []


async def test_errors_in_russian(
    bot_env: tuple[FakeTelegram, Settings, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, _, cabinet = bot_env
    user = TgUser(BASE_ID + 3, "Пётр", language_code="ru")
    _, petr_actor = await cabinet.onboard(
        await cabinet.remember(CabinetUser(user.id, "Пётр", None, "ru")), "Экспорт", "Europe/Moscow"
    )
    await cabinet.set_recording(petr_actor, {"mode": "all"})
    petr = Chat(tg, user)
    bad = await petr.say("/recordings_zip недавно")
    assert "Неизвестный фильтр «недавно»" in (bad.text or ""), bad.text
    empty = await petr.say(f"/recordings_zip {DAY}")
    assert "записей нет" in (empty.text or ""), empty.text
