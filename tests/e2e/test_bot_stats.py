"""Call statistics through the real bot and a fake Bot API server: /stats figures, a
chart button answered with a PNG photo, XLSX and CSV documents, an employee seeing only
their own figures (in Russian), and a bad period refused in English and in Russian.

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from pbx.services.cabinet import TgUser as CabinetUser
from tests.support.bot import Chat, bot_settings, running_bot
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27650
# Per-run user ids: the FSM state in the shared Redis never leaks between runs.
BASE_ID = 2_765_000_000 + (os.getpid() % 100_000) * 10
DAY = "2026-03-10"
PERIOD = f"{DAY}..{DAY}"
_calls = itertools.count(1)


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botstats.test")
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


async def _call(
    pool: asyncpg.Pool,
    company_id: int,
    at: str,
    callee: int,
    answer_after: int | None,
    talk: int = 0,
) -> None:
    started = datetime.fromisoformat(f"{DAY}T{at}+00:00")
    answered = started + timedelta(seconds=answer_after) if answer_after is not None else None
    await pool.execute(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
               callee_employee_id, started_at, answered_at, ended_at, result, hangup_cause)
           VALUES ($1, $2, 'inbound', '79160000009', 'x', $3, $4, $5, $6, $7, 'x')""",
        company_id,
        f"botstats-{company_id}-{next(_calls)}",
        callee,
        started,
        answered,
        (answered or started) + timedelta(seconds=talk or 20),
        "answered" if answered else "missed",
    )


async def test_stats_figures_charts_exports_and_errors(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, cabinet = bot_env
    owner_user = TgUser(BASE_ID + 1, "Olga")
    owner_tg = await cabinet.remember(CabinetUser(owner_user.id, "Olga", None, "en"))
    _, owner = await cabinet.onboard(owner_tg, "Stats Bot Co", "Europe/Moscow")
    anna = await cabinet.add_employee(owner, "Anna", "101")
    boris = await cabinet.add_employee(owner, "Boris", "102")
    # Anna: two answered (after 4 s and 8 s; talk 1:00 and 2:00), one missed; Boris: one.
    await _call(pool, owner.company_id, "09:05:00", anna.id, 4, talk=60)
    await _call(pool, owner.company_id, "09:40:00", anna.id, 8, talk=120)
    await _call(pool, owner.company_id, "13:00:00", anna.id, None)
    await _call(pool, owner.company_id, "13:30:00", boris.id, 10, talk=30)
    olga = Chat(tg, owner_user, timeout=30)

    summary = await olga.say(f"/stats {PERIOD}")
    text = summary.text or ""
    assert f"{DAY} – {DAY}" in text and "Calls: 4" in text, text
    assert "Answered: 3, missed: 1" in text and "Talk time: 3:30" in text, text
    assert "101 Anna: received 3, answered 2, missed 1, made 0; talk 3:00 (avg 1:30)" in text
    assert "answer 6.0 s" in text and "102 Boris: received 1" in text, text
    assert [label for label, _ in summary.buttons] == [
        "Chart by hour",
        "Chart by day",
        "Rating",
        "CSV",
        "XLSX",
    ]

    await tg.press(owner_user, summary, f"stats:hour:{PERIOD}")
    photo = await olga.reply()
    assert photo.method == "sendPhoto" and photo.file is not None, photo
    assert photo.file.data[:8] == b"\x89PNG\r\n\x1a\n" and photo.file.size > 5000
    assert "Calls by hour" in (photo.text or "")

    await tg.press(owner_user, summary, f"stats:rating:{PERIOD}")
    ranked = (await olga.reply()).text or ""
    assert "1. 101 Anna — answered 2" in ranked and "2. 102 Boris — answered 1" in ranked, ranked
    chart = await olga.reply()
    assert chart.method == "sendPhoto" and chart.file is not None
    assert chart.file.data[:4] == b"\x89PNG"

    await tg.press(owner_user, summary, f"stats:xlsx:{PERIOD}")
    document = await olga.reply()
    assert document.method == "sendDocument" and document.file is not None, document
    assert document.file.filename == f"stats_{DAY}_{DAY}.xlsx"
    book = load_workbook(io.BytesIO(document.file.data))
    rows = list(book["employees"].iter_rows(values_only=True))
    assert rows[1][:7] == ("101", "Anna", 3, 2, 1, 0, 180), rows
    assert list(book["days"].iter_rows(values_only=True))[1:] == [(DAY, 4, 3, 1)]

    await tg.press(owner_user, summary, f"stats:csv:{PERIOD}")
    people, days = await olga.reply(), await olga.reply()
    assert people.file is not None and days.file is not None
    assert (people.method, days.method) == ("sendDocument", "sendDocument")
    table = list(csv.reader(io.StringIO(people.file.data.decode("utf-8-sig"))))
    assert table[2][:3] == ["102", "Boris", "1"], table
    assert list(csv.reader(io.StringIO(days.file.data.decode("utf-8-sig"))))[1] == [
        DAY,
        "4",
        "3",
        "1",
    ]

    card = (await olga.say(f"/stats_employee 101 {PERIOD}")).text or ""
    assert "Received: 3 (answered 2, missed 1)" in card and "6.0 s" in card, card
    assert "Usage" in ((await olga.say("/stats_employee")).text or "")
    groups = (await olga.say(f"/stats_groups {PERIOD}")).text or ""
    assert "No ring groups" in groups, groups

    # A bad period: a clear answer in English...
    bad = (await olga.say("/stats weekly")).text or ""
    assert "Unknown period “weekly”" in bad and "YYYY-MM-DD..YYYY-MM-DD" in bad, bad

    # ...and in Russian, for an employee who sees only their own figures.
    invite = await cabinet.invite(owner, "102", Role.EMPLOYEE)
    boris_user = TgUser(BASE_ID + 2, "Борис", language_code="ru")
    await cabinet.join(
        await cabinet.remember(CabinetUser(boris_user.id, "Борис", None, "ru")), invite.token
    )
    boris_chat = Chat(tg, boris_user, timeout=30)
    wrong = (await boris_chat.say("/stats вчера")).text or ""
    assert "Неизвестный период «вчера»" in wrong, wrong
    own = (await boris_chat.say(f"/stats {PERIOD}")).text or ""
    assert "Звонков: 1" in own and "102 Boris: принято 1" in own, own
    assert "Anna" not in own
    hidden = (await boris_chat.say(f"/stats_employee 101 {PERIOD}")).text or ""
    assert "Сотрудника с номером 101 нет" in hidden, hidden
