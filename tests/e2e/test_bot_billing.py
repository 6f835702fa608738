"""Plans through the real bot and a fake Bot API: an owner on МИНИ adds an eleventh
employee, is told the limit and the price with a one-tap "add" button, taps it, adds the
employee and finds the extra on this month's statement (text and CSV); an admin gets the
same limit without the button; a Russian owner's downgrade is refused with what to
remove first. Needs PostgreSQL and Redis only, on this test's own port."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from pypdf import PdfReader

from notifications import outbox
from notifications.telegram import TelegramSender
from pbx.config import Settings
from pbx.services.cabinet import Actor, Cabinet, Role
from tests.support.bot import Chat, bot_settings, join_as, running_bot, sign_up
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27720
BASE_ID = 2_772_000_000 + (os.getpid() % 100_000) * 10


async def new_owner(
    cabinet: Cabinet, n: int, name: str, company: str, lang: str = "en"
) -> tuple[TgUser, Actor]:
    """A Telegram user who signs a company up (on the catalogue's default plan)."""
    user = TgUser(BASE_ID + n, name, language_code=lang)
    return user, await sign_up(cabinet, user, company)


async def new_admin(cabinet: Cabinet, owner: Actor, ext: str, n: int, name: str) -> TgUser:
    user = TgUser(BASE_ID + n, name)
    await join_as(cabinet, owner, ext, user, Role.ADMIN)
    return user


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botbill.test")
    settings = settings.model_copy(update={"signup_plan": ""})  # the catalogue's МИНИ
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


async def test_limit_buy_in_one_tap_and_the_statement(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, cabinet = bot_env
    olga_user, owner = await new_owner(cabinet, 1, "Olga", "Bill Bot Co")
    for n in range(10):
        await cabinet.add_employee(owner, f"Person {n}", str(101 + n))
    olga = Chat(tg, olga_user)

    refused = await olga.say("/employee_add Kirill 111")
    text = refused.text or ""
    assert "Your plan МИНИ includes 10 employees" in text and "50.00 RUB" in text, text
    assert refused.buttons == [("➕ Add employees (×1)", "buy:employees:1")]
    count = "SELECT count(*) FROM employees WHERE company_id = $1"
    assert await pool.fetchval(count, owner.company_id) == 10

    await tg.press(olga_user, refused, "buy:employees:1")
    bought = await olga.reply()
    assert "employees now 11" in (bought.text or ""), bought.text
    added = await olga.say("/employee_add Kirill 111")
    assert "Kirill" in (added.text or "") and await pool.fetchval(count, owner.company_id) == 11

    plan = await olga.say("/plan")
    text = plan.text or ""
    assert "Plan МИНИ: 1\u00a0000.00 RUB a month" in text, text
    assert "employees: 11 / 11 (extra packs: 1)" in text, text
    assert "Extra employees" in text and "Net " in text, text
    assert "Changes this month:" in text and "— employees: 1 extra pack(s)" in text, text
    await tg.press(olga_user, plan, "plan:list")  # "see plans" under /plan
    listed = await olga.reply()
    assert "✅ МИНИ (mini)" in (listed.text or "") and ("МИДИ", "plan:set:midi") in listed.buttons

    stmt = await olga.say("/statement csv")
    assert stmt.method == "sendDocument" and stmt.file is not None, stmt
    every = list(csv.reader(io.StringIO(stmt.file.data.decode("utf-8-sig"))))
    rows = every[: every.index([])]  # the money part; the history follows a blank row
    assert every[every.index([]) + 1] == ["History"], every
    # Each change in the bot's words, beside its code.
    assert any(r[1:] == ["employees: 1 extra pack(s)", "extra:employees", "1"] for r in every), (
        every
    )
    assert any(r[1:] == ["plan МИНИ", "plan:mini", "1"] for r in every), every
    by_item = {r[0]: r for r in rows[2:]}
    assert by_item["Extra employees"][3:5] == ["50.00", "41.67"], rows
    assert by_item["МИНИ"][4] == "833.33", rows
    net = sum(float(r[5]) for r in rows[2:-3])  # lines only; money checked as text below
    assert by_item["Net"][5] == f"{net:.2f}", rows
    pdf = await olga.say("/statement pdf")
    assert pdf.method == "sendDocument" and pdf.file is not None, pdf
    text = PdfReader(io.BytesIO(pdf.file.data)).pages[0].extract_text()
    assert by_item["Net"][5] in text and "employees: 1 extra pack(s)" in text, text

    # An admin meets the same limit, but buying is the owner's: no button.
    ann_user = await new_admin(cabinet, owner, "101", 2, "Ann")
    ann = Chat(tg, ann_user)
    refused = await ann.say("/employee_add Lena 112")
    assert "includes 10 employees" in (refused.text or "") and refused.buttons == [], refused


async def test_downgrade_refused_in_russian_with_what_to_remove(
    bot_env: tuple[FakeTelegram, Cabinet],
) -> None:
    tg, cabinet = bot_env
    ivan_user, owner = await new_owner(cabinet, 3, "Иван", "Тарифы", "ru")
    await cabinet.change_plan(owner, "midi")
    await cabinet.buy(owner, "ivr_menus")
    await cabinet.set_menu(owner, "day", {})
    await cabinet.set_menu(owner, "night", {})
    ivan = Chat(tg, ivan_user)
    answer = await ivan.say("/plan_change start_plus")  # one menu and no extras on СТАРТ+
    text = answer.text or ""
    assert "Тариф СТАРТ+ не подходит компании" in text, text
    assert "ivr_menus: используется 2, тариф позволяет 1" in text, text
    plans = await ivan.say("/plans")
    assert "✅ МИДИ (midi)" in (plans.text or ""), plans.text
    assert ("МАКСИ", "plan:set:maxi") in plans.buttons
    await tg.press(ivan_user, plans, "plan:set:maxi")
    changed = await ivan.reply()
    assert "Ваш тариф теперь МАКСИ" in (changed.text or ""), changed.text
    bad = await ivan.say("/statement 13-2026")
    assert "ГГГГ-ММ" in (bad.text or ""), bad.text


@pytest.fixture
async def bot_env_seed002(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botsms.test")
    settings = settings.model_copy(update={"signup_plan": "", "catalogue": "seed002"})
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


async def test_sms_packs_renew_unless_the_owner_says_no(
    bot_env_seed002: tuple[FakeTelegram, Cabinet],
) -> None:
    tg, cabinet = bot_env_seed002
    vera_user, owner = await new_owner(cabinet, 4, "Vera", "SMS Co")
    vera = Chat(tg, vera_user)
    plan = (await vera.say("/plan")).text or ""
    assert "Plan Бизнес" in plan and "SMS a month: 0 / 300" in plan, plan
    assert "the next SMS pack is bought by itself" in plan, plan
    assert "/sms_renew" in ((await vera.say("/sms_renew maybe")).text or "")
    off = (await vera.say("/sms_renew off")).text or ""
    assert "No more automatic SMS packs" in off, off
    assert (await cabinet.plan_view(owner)).sms_auto_renew is False
    plan = (await vera.say("/plan")).text or ""
    assert "SMS alerts stop until next month or /buy sms" in plan, plan

    adam = await cabinet.add_employee(owner, "Adam")
    adam_user = await new_admin(cabinet, owner, adam.ext, 5, "Adam")
    refused = (await Chat(tg, adam_user).say("/sms_renew on")).text or ""
    assert "Only the company owner can do this" in refused, refused
    assert (await cabinet.plan_view(owner)).sms_auto_renew is False


async def test_a_paid_option_that_is_off_is_switched_on_in_one_tap(
    bot_env_seed002: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    """Seed 002's Бизнес sells ring-all as a 200 RUB option: the refusal offers it to
    the owner under the message, one tap switches it on, the command then works."""
    tg, cabinet = bot_env_seed002
    pavel_user, owner = await new_owner(cabinet, 8, "Pavel", "Option Co")
    pavel = Chat(tg, pavel_user)
    groups = "SELECT count(*) FROM ring_groups WHERE company_id = $1"
    refused = await pavel.say("/group_add sales ring_all")
    assert "Nothing was changed" in (refused.text or ""), refused.text
    assert refused.buttons == [
        ("➕ Turn on Ring group: all at once (200.00 RUB a month)", "opton:algorithm_ring_all")
    ], refused.buttons
    assert await pool.fetchval(groups, owner.company_id) == 0
    await tg.press(pavel_user, refused, "opton:algorithm_ring_all")
    on = await pavel.reply()
    assert "is on" in (on.text or ""), on.text
    await pavel.say("/group_add sales ring_all")
    assert await pool.fetchval(groups, owner.company_id) == 1


async def test_a_closed_month_reaches_the_owner_with_its_pdf(
    bot_env: tuple[FakeTelegram, Cabinet], pool: asyncpg.Pool
) -> None:
    tg, cabinet = bot_env
    pavel_user, owner = await new_owner(cabinet, 6, "Pavel", "Closing Co")
    pavel = Chat(tg, pavel_user)
    assert "Plan МИНИ" in ((await pavel.say("/plan")).text or "")  # the chat exists
    # On МИНИ since long before last month: last month is charged whole.
    await pool.execute(
        "UPDATE billing_changes SET at = now() - interval '70 days' WHERE company_id = $1",
        owner.company_id,
    )
    assert await cabinet.close_months() >= 1
    last = (await cabinet.plan_view(owner)).last[0]
    month = f"{last.month:%Y-%m}"
    async with pool.acquire() as conn:
        item = await outbox.get(
            conn,
            company_id=owner.company_id,
            dedup_key=f"statement:{owner.company_id}:{month}:{pavel_user.id}",
        )
    assert item is not None and item.kind == "statement"
    bot = tg.make_bot()
    try:  # what the notification worker does with it
        await TelegramSender(bot).send(item)
    finally:
        await bot.session.close()
    alert = await pavel.reply()
    assert f"The statement for {month} is ready: 1\u00a0000.00 RUB" in (alert.text or ""), alert
    await tg.press(pavel_user, alert, f"stmt:{month}:pdf")
    pdf = await pavel.reply()
    assert pdf.method == "sendDocument" and pdf.file is not None, pdf
    text = PdfReader(io.BytesIO(pdf.file.data)).pages[0].extract_text()
    assert "МИНИ" in text and "833.33" in text, text
