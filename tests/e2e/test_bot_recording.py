"""Recording settings through the real bot and a fake Bot API: the policy, selective
rules and storage, with good and bad arguments in English and Russian, and roles
refused. Needs PostgreSQL and Redis only, on this test's own port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from pbx.services.cabinet import TgUser as CabinetUser
from tests.support.bot import Chat, bot_settings, running_bot
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27610
BASE_ID = 2_761_000_000 + (os.getpid() % 100_000) * 10


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Settings, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botrec.test")
    async with running_bot(pool, TG_PORT, settings) as env:
        yield env


async def test_owner_sets_recording_rules_and_storage(
    bot_env: tuple[FakeTelegram, Settings, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, _, cabinet = bot_env
    owner_user = TgUser(BASE_ID + 1, "Olga")
    _, owner = await cabinet.onboard(
        await cabinet.remember(CabinetUser(owner_user.id, "Olga", None, "en")),
        "Rec Bot Co",
        "Europe/Moscow",
    )
    await cabinet.add_employee(owner, "Anna", "101")
    olga = Chat(tg, owner_user)

    card = (await olga.say("/recording")).text or ""
    assert "Call recording: off" in card and "notice: yes" in card, card
    card = (await olga.say("/recording mode=all notice=off")).text or ""
    assert "every call" in card and "notice: no" in card, card
    bad = (await olga.say("/recording mode=sometimes")).text or ""
    assert "Unknown mode “sometimes”" in bad, bad
    assert "Usage" in ((await olga.say("/recording loud")).text or "")

    card = (await olga.say("/record_rule add employee 101 in")).text or ""
    assert "employee 101 in" in card, card
    bad = (await olga.say("/record_rule add planet mars")).text or ""
    assert "Unknown rule “planet”" in bad, bad
    bad = (await olga.say("/record_rule add employee 199")).text or ""
    assert "There is no employee “199”" in bad, bad
    assert "Usage" in ((await olga.say("/record_rule add")).text or "")
    rules = await pool.fetchval(
        "SELECT count(*) FROM recording_rules WHERE company_id = $1", owner.company_id
    )
    assert rules == 1  # nothing stored by the refused commands

    card = (await olga.say("/storage packs=2 auto_pack=on retention=180")).text or ""
    assert "of 11.0 GB" in card and "2 extra packs" in card and "180 days" in card, card
    bad = (await olga.say("/storage packs=10")).text or ""
    assert "packs" in bad and "0" in bad and "9" in bad, bad
    packs = await pool.fetchval(
        "SELECT storage_packs FROM companies WHERE id = $1", owner.company_id
    )
    assert packs == 2

    listing = (await olga.say("/recordings")).text or ""
    assert "No recordings match" in listing, listing
    # The same from the menu's buttons.
    menu = await olga.say("/menu")
    await tg.press(owner_user, menu, "menu:recordings")
    assert "No recordings match" in ((await olga.reply()).text or "")
    await tg.press(owner_user, menu, "menu:stats")
    stats = (await olga.reply()).text or ""
    assert "Call statistics, today" in stats, stats
    await olga.say("/recording mode=off")
    off = (await olga.say("/recordings")).text or ""
    assert "Call recording is off" in off, off

    # An employee may neither change the policy nor listen unless allowed.
    inv = await cabinet.invite(owner, "101", Role.EMPLOYEE)
    anna_user = TgUser(BASE_ID + 2, "Анна", language_code="ru")
    await cabinet.join(
        await cabinet.remember(CabinetUser(anna_user.id, "Анна", None, "ru")), inv.token
    )
    anna = Chat(tg, anna_user)
    denied = (await anna.say("/recording mode=all")).text or ""
    assert "не позволяет" in denied, denied
    await olga.say("/recording mode=all")
    denied = (await anna.say("/recordings")).text or ""
    assert "сотрудникам нельзя слушать записи" in denied, denied
    bad = (await anna.say("/recordings недавно")).text or ""
    assert "Неизвестный фильтр «недавно»" in bad, bad
