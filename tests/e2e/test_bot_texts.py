"""Texts through the real bot and a fake Bot API that used to lack their facts: the join
message names the company, `/plan` shows no "?" placeholder (issue 13.7).

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from tests.support.bot import Chat, bot_settings, running_bot, sign_up
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27750
BASE_ID = 2_775_000_000 + (os.getpid() % 100_000) * 10


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "bottexts.test")
    settings = settings.model_copy(update={"signup_plan": ""})  # the catalogue's МИНИ
    async with running_bot(pool, TG_PORT, settings) as (tg, _, cabinet):
        yield tg, cabinet


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "You have joined Rogue & Sons as employee."),
        ("ru", "Вы подключены к компании «Rogue & Sons», роль: сотрудник."),
    ],
)
async def test_join_message_names_the_company(
    bot_env: tuple[FakeTelegram, Cabinet], lang: str, expected: str
) -> None:
    tg, cabinet = bot_env
    n = 1 if lang == "en" else 3
    owner = await sign_up(cabinet, TgUser(BASE_ID + n, "Olga"), "Rogue & Sons")
    await cabinet.add_employee(owner, "Ivan", "105")
    invite = await cabinet.invite(owner, "105", Role.EMPLOYEE)
    ivan = Chat(tg, TgUser(BASE_ID + n + 1, "Ivan", language_code=lang))
    joined = (await ivan.say(f"/start {invite.token}")).text or ""
    assert expected in joined, joined


@pytest.mark.parametrize(
    ("lang", "kept"),
    [("en", "• days recordings are kept: up to 3 "), ("ru", ": до 3 ")],
)
async def test_plan_has_no_placeholders(
    bot_env: tuple[FakeTelegram, Cabinet], lang: str, kept: str
) -> None:
    tg, cabinet = bot_env
    n = 5 if lang == "en" else 6
    user = TgUser(BASE_ID + n, "Olga", language_code=lang)
    await sign_up(cabinet, user, f"Plan Texts {lang}")
    text = (await Chat(tg, user).say("/plan")).text or ""
    assert "МИНИ" in text, text
    assert "?" not in text, text
    assert kept in text, text  # kept by days: no "used" figure, only the allowance
