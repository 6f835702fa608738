"""Every command that can go beyond the plan, through the real bot and a fake Bot API:
the owner is told the limit in their language with the one-tap "➕ Add", an admin the
same without it, and nothing of the refused command is stored (issue 13.4).

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from tests.support.bot import Chat, bot_settings, join_as, running_bot, sign_up
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27730
_ids = itertools.count(2_773_000_000 + (os.getpid() % 10_000) * 100, 10)


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botlimits.test")
    settings = settings.model_copy(update={"signup_plan": ""})  # the catalogue's МИНИ
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


@pytest.mark.parametrize(
    ("commands", "table", "lang", "said", "button"),
    [
        (("/group_add sales", "/group_add support", "/group_add third"), "ring_groups", "en",
         "Your plan МИНИ includes 1 ring groups; more cost 200.00 RUB a month per 1. Nothing was changed",
         ("➕ Add ring groups (×1)", "buy:ring_groups:1")),
        (("/menu_set main 1=hangup", "/menu_set night 1=hangup", "/menu_set third 1=hangup"),
         "ivr_menus", "ru", "Ваш тариф МИНИ включает 1 (голосовые меню); сверх — 200.00 RUB",
         ("➕ Добавить: голосовые меню (×1)", "buy:ivr_menus:1")),
    ],
)  # fmt: skip
async def test_a_second_thing_beyond_the_plan(
    bot_env: tuple[FakeTelegram, Cabinet],
    pool: asyncpg.Pool,
    commands: tuple[str, str, str],
    table: str,
    lang: str,
    said: str,
    button: tuple[str, str],
) -> None:
    tg, cabinet = bot_env
    first, second, third = commands
    base = next(_ids)
    olga_user = TgUser(base + 1, "Olga", language_code=lang)
    owner = await sign_up(cabinet, olga_user, f"Limits {table}")
    olga = Chat(tg, olga_user)
    await olga.say(first)
    count = f"SELECT count(*) FROM {table} WHERE company_id = $1"
    assert await pool.fetchval(count, owner.company_id) == 1

    refused = await olga.say(second)
    assert said in (refused.text or ""), refused.text
    assert refused.buttons == [button]
    assert await pool.fetchval(count, owner.company_id) == 1  # nothing stored

    await tg.press(olga_user, refused, button[1])
    await olga.reply()  # bought
    await olga.say(second)
    assert await pool.fetchval(count, owner.company_id) == 2

    await cabinet.add_employee(owner, "Ann", "101")
    ann_user = TgUser(base + 2, "Ann", language_code=lang)
    await join_as(cabinet, owner, "101", ann_user, Role.ADMIN)
    again = await Chat(tg, ann_user).say(third)
    assert said.split(";")[0] in (again.text or "") and again.buttons == [], again  # owner's
    assert await pool.fetchval(count, owner.company_id) == 2


async def test_a_paid_part_refuses_the_whole_command_and_says_so(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    # /group_set with a paid algorithm and a free interval: all or nothing, and said.
    tg, cabinet = bot_env
    user = TgUser(next(_ids) + 1, "Olga")
    owner = await sign_up(cabinet, user, "Limits group_set")
    olga = Chat(tg, user)
    await olga.say("/group_add sales")
    refused = await olga.say("/group_set sales interval=30 algorithm=least_idle")
    text = refused.text or ""
    assert "is a paid option (250.00 RUB a month)" in text, text
    assert "Nothing was changed." in text, text
    row = await pool.fetchrow(
        "SELECT algorithm, interval_s FROM ring_groups WHERE company_id = $1", owner.company_id
    )
    assert (row["algorithm"], row["interval_s"]) == ("ring_all", 15)
