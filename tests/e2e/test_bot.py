"""The real aiogram bot driven over HTTP through a fake Bot API server, with SIP phones:
onboarding, invite and join, credentials delivered in private, a call to the new phone,
roles refused, isolation, forwarding changing the very next call, flood limits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from bot.app import WEBHOOK_PATH, BotRunner
from pbx.app import Service
from pbx.services import Provisioning, SipCredentials
from pbx.services.cabinet import Cabinet
from storage.presence import RedisTrunkStates
from tests.e2e.conftest import CARRIER_IP, ENGINE_PORT, call_record, eventually, registered_phone
from tests.e2e.test_trunks import REGISTRAR
from tests.support.fake_telegram import FakeTelegram, TgUser
from tests.support.phone import Phone
from tests.support.sipp import Sipp

pytestmark = pytest.mark.e2e


@dataclass
class BotEnv:
    tg: FakeTelegram
    runner: BotRunner
    pool: asyncpg.Pool

    async def say(self, user: TgUser, text: str) -> str:
        await self.tg.send_text(user, text)
        msg = await self.tg.next_message(user.id, timeout=10)
        assert msg.text is not None
        return msg.text

    async def say_message(self, user: TgUser, text: str) -> Any:
        await self.tg.send_text(user, text)
        return await self.tg.next_message(user.id, timeout=10)


def runner_for(pbx: Service, tg: FakeTelegram, **extra: Any) -> BotRunner:
    assert pbx.pool is not None and pbx.redis is not None
    settings = pbx.settings.model_copy(
        update={"telegram_token": tg.token, "telegram_api_base": tg.base_url, **extra}
    )
    return BotRunner(settings, Cabinet.with_redis(pbx.pool, settings, pbx.redis))


@pytest.fixture(scope="module")
async def env(pbx: Service) -> AsyncIterator[BotEnv]:
    async with FakeTelegram() as tg:
        runner = runner_for(pbx, tg)
        await runner.start()
        await tg.wait_for_poller()
        assert pbx.pool is not None
        yield BotEnv(tg, runner, pbx.pool)
        await runner.stop()


async def onboard(env: BotEnv, owner: TgUser, name: str) -> None:
    msg = await env.say_message(owner, "/start")
    await env.tg.press(owner, msg, "company:new")
    assert "?" in (await env.tg.next_message(owner.id)).text
    ask_tz = await env.say_message(owner, name)
    await env.tg.press(owner, ask_tz, "tz:Europe/Moscow")
    ask_lang = await env.tg.next_message(owner.id)
    await env.tg.press(owner, ask_lang, "lang:en")
    done = await env.tg.next_message(owner.id)
    assert done.text and name in done.text and "ready" in done.text


def field(text: str, label: str) -> str:
    m = re.search(rf"{label}: (\S+)", text)
    assert m, text
    return m.group(1)


async def test_owner_to_employee_to_ringing_phone(
    env: BotEnv, pbx: Service, prov: Provisioning
) -> None:
    owner = TgUser(700001, "Olga", language_code="ru")
    ivan = TgUser(700002, "Ivan", language_code="en")
    welcome = await env.say_message(owner, "/start")
    assert "Создать компанию" in str(welcome.buttons)  # Russian from Telegram's language
    await env.tg.press(owner, welcome, "company:new")
    await env.tg.next_message(owner.id)
    bad = await env.say(owner, "   ")  # an empty name is explained, the question stays
    assert "пуст" in bad
    ask_tz = await env.say_message(owner, "Бот и Ко")
    await env.tg.press(owner, ask_tz, "tz:Europe/Moscow")
    ask_lang = await env.tg.next_message(owner.id)
    await env.tg.press(owner, ask_lang, "lang:en")
    assert "is ready" in (await env.tg.next_message(owner.id)).text

    assert "extension 105" in await env.say(owner, "/employee_add Ivan Petrov 105 ivan@example.com")
    invite = await env.say(owner, "/invite 105")
    token = re.search(r"start=([\w-]+)", invite)
    assert token, invite
    assert "joined" in await env.say(ivan, f"/start {token.group(1)}")
    assert "invalid" in await env.say(TgUser(700003, "Eve"), f"/start {token.group(1)}")

    creds = await env.say(ivan, "/my_sip")
    login, password, domain = (
        field(creds, "Login"),
        field(creds, "Password"),
        field(creds, "Domain"),
    )
    qr = await env.tg.next_message(ivan.id)
    assert qr.method == "sendPhoto" and qr.file is not None
    assert qr.file.data.startswith(b"\x89PNG")
    assert login == "105"
    company_id = await env.pool.fetchval("SELECT id FROM companies WHERE sip_domain = $1", domain)
    caller_creds = (await prov.add_employee(company_id, "Caller")).credentials
    ivan_phone = await registered_phone(
        SipCredentials(login, login, password, domain, caller_creds.registrar), "ivan"
    )
    caller = await registered_phone(caller_creds, "bot-caller")
    try:
        await caller.call(f"sip:105@{domain}")
        await ivan_phone.wait_incoming()
        await ivan_phone.answer()
        await caller.wait_state("CONFIRMED")
        await caller.hangup()
        await ivan_phone.wait_state("DISCONNECTED")
        assert caller.current_call_id
        rec_id = (await call_record(env.pool, company_id, caller.current_call_id))["id"]
        history = await env.say(ivan, "/my_calls")
        assert "105" in history and "answered" in history

        # An employee cannot manage the company: refused, and nothing stored.
        count = await env.pool.fetchval(
            "SELECT count(*) FROM employees WHERE company_id = $1", company_id
        )
        assert "does not allow" in await env.say(ivan, "/employee_add Sneaky Person")
        assert "Only the company owner" in await env.say(ivan, "/audit")
        assert "does not allow" in await env.say(ivan, "/employees")
        assert (
            await env.pool.fetchval(
                "SELECT count(*) FROM employees WHERE company_id = $1", company_id
            )
            == count
        )

        page = await env.say_message(owner, "/calls internal today")
        assert "105" in page.text and ("1", f"call:{rec_id}") in page.buttons
        await env.tg.press(owner, page, f"call:{rec_id}")
        card = await env.tg.next_message(owner.id)
        assert f"Call #{rec_id}" in card.text and "talked" in card.text
        assert "→ 105" in await env.say(ivan, "/calls")  # an employee's history: their own calls

        audit = await env.say(owner, "/audit")
        assert "employee.add" in audit and "invite.join" in audit
        assert "Olga: employee.add ext 105: —" in audit and '"name": "Ivan Petrov"' in audit
        listing = await env.say(owner, "/employees")
        assert "105 — Ivan Petrov" in listing and "online" in listing
    finally:
        await ivan_phone.close()
        await caller.close()


async def test_forwarding_set_in_the_bot_changes_the_next_call(
    env: BotEnv, pbx: Service, prov: Provisioning
) -> None:
    owner, emp = TgUser(700011, "Fwd Owner"), TgUser(700012, "Fwd Emp")
    await onboard(env, owner, "Forward Co")
    await env.say(owner, "/employee_add Mobile Man 120")
    token = re.search(r"start=([\w-]+)", await env.say(owner, "/invite 120"))
    assert token
    await env.say(emp, f"/start {token.group(1)}")
    company_id = await env.pool.fetchval(
        "SELECT company_id FROM memberships WHERE tg_id = $1", owner.id
    )
    trunk = await prov.add_trunk(
        company_id, "fwd", CARRIER_IP, port=25291, auth_mode="ip", ip_addresses=[CARRIER_IP]
    )
    await prov.add_number(company_id, "74957654321", trunk.id, "120")
    caller_creds = (await prov.add_employee(company_id, "Caller")).credentials
    domain = caller_creds.domain
    carrier = Phone(port=25291, name="carrier2", host=CARRIER_IP)
    await carrier.start()
    caller = await registered_phone(caller_creds, "fwd-caller")
    try:
        assert "mobile number first" in await env.say(emp, "/forward always")  # explained
        text = await env.say(emp, "/forward always +79165554433")
        assert "79165554433" in text
        await caller.call(f"sip:120@{domain}")
        incoming = await carrier.wait_incoming()
        assert "79165554433" in incoming["request_uri"]
        await carrier.reject(486)
        await caller.wait_state("DISCONNECTED")

        assert "off" in await env.say(emp, "/forward off")
        caller.mark()
        await caller.call(f"sip:120@{domain}")
        ended = await caller.wait_state("DISCONNECTED")
        assert ended["last_status_code"] == 480  # ext 120 has no phone: no forwarding now
        with pytest.raises(TimeoutError):
            await carrier.wait_incoming(timeout=0.5)
    finally:
        await carrier.close()
        await caller.close()


async def test_companies_are_isolated_and_arguments_checked(env: BotEnv) -> None:
    a, b = TgUser(700021, "Alpha"), TgUser(700022, "Beta")
    await onboard(env, a, "Alpha Co")
    await onboard(env, b, "Beta Co")
    await env.say(a, "/employee_add Secret Agent 150")
    assert "Secret Agent" not in await env.say(b, "/employees")
    assert "There is no employee with extension 150" in await env.say(b, "/invite 150")
    assert "Usage: /employee_add" in await env.say(a, "/employee_add")
    assert "not a valid extension" in await env.say(a, "/invite 0x")
    assert "Usage: /dnd" in await env.say(a, "/dnd maybe")
    stranger = TgUser(700023, "Stranger")
    assert "invite" in await env.say(stranger, "/employees")
    menu = await env.say_message(a, "/menu")
    assert ("📞 Calls", "menu:calls") in menu.buttons
    assert "menu:my_sip" not in [d for _, d in menu.buttons]  # the owner has no phone profile
    await env.tg.press(a, menu, "menu:employees")
    assert "150 — Secret Agent" in (await env.tg.next_message(a.id)).text
    assert "did not understand" in await env.say(a, "what is the weather")
    assert "Язык: русский" in await env.say(a, "/language ru")
    assert "Сотрудники" in await env.say(a, "/employees")


async def test_flood_limits_are_respected(env: BotEnv) -> None:
    user = TgUser(700031, "Flood")
    await onboard(env, user, "Flood Co")
    env.tg.fail_next("sendMessage", 429, retry_after=1)
    assert "Commands for your role" in await env.say(user, "/help")  # retried after 1 s
    for _ in range(3):
        await env.tg.send_text(user, "/help")
    for _ in range(3):
        await env.tg.next_message(user.id, timeout=10)
    assert not [x for x in env.tg.too_fast if x.chat_id == user.id]


async def test_webhook_checks_the_secret(pbx: Service) -> None:
    async with FakeTelegram() as tg:
        app = web.Application()
        runner_app = web.AppRunner(app)
        url = "http://127.0.0.1:25083" + WEBHOOK_PATH
        runner = runner_for(pbx, tg, telegram_webhook_url=url, telegram_webhook_secret="s3cr3t")
        runner.register(app)
        await runner_app.setup()
        await web.TCPSite(runner_app, "127.0.0.1", 25083).start()
        try:
            await runner.start()
            user = TgUser(700041, "Hook")
            await tg.send_text(user, "/help")
            assert "invite" in (await tg.next_message(user.id, timeout=10)).text
            status, _ = await tg.post_to_webhook(
                {"update_id": 999, "message": {}}, secret_token="wrong"
            )
            assert status in (401, 403)
        finally:
            await runner.stop()
            await runner_app.cleanup()


async def test_trunks_and_numbers_from_the_bot(
    env: BotEnv, pbx: Service, prov: Provisioning
) -> None:
    owner = TgUser(700051, "Trunk Owner")
    await onboard(env, owner, "Trunk Co")
    await env.say(owner, "/employee_add Desk 140")
    company_id = await env.pool.fetchval(
        "SELECT company_id FROM memberships WHERE tg_id = $1", owner.id
    )
    desk = await registered_phone(await prov.reset_password(company_id, "140"), "desk")
    carrier = Phone(port=25293, name="79990009988", host=CARRIER_IP)
    await carrier.start()
    registrar = await Sipp(
        ["-sf", str(REGISTRAR), "-i", "127.0.0.4", "-p", "25292", "-m", "1"], timeout=20
    ).start()
    try:
        added = await env.say(owner, "/trunk_add reg 127.0.0.4:25292 acct77 s3cret-pass")
        trunk_id = int(re.search(r"#(\d+)", added).group(1))  # type: ignore[union-attr]
        # The message with the carrier's password is removed from the chat.
        await env.tg.wait_for_call("deleteMessage", lambda p: p["chat_id"] == owner.id)
        assert (await registrar.wait()).successful == 1  # the engine registered, digest ok
        assert pbx.redis is not None
        states = RedisTrunkStates(pbx.redis)

        async def registered() -> bool:
            return (await states.get_all()).get(trunk_id, (False, ""))[0]

        await eventually(registered)
        assert "✅" in await env.say(owner, "/trunks")

        ip_added = await env.say(owner, f"/trunk_add office {CARRIER_IP}:25293 ip")
        ip_trunk = re.search(r"#(\d+)", ip_added)
        assert ip_trunk
        assert "140" in await env.say(owner, f"/number_add +74950001122 {ip_trunk.group(1)} 140")
        assert "74950001122 → 140" in await env.say(owner, "/numbers")
        await carrier.call(f"sip:74950001122@127.0.0.1:{ENGINE_PORT}")
        incoming = await desk.wait_incoming()
        assert "79990009988" in incoming["from"]
        await desk.reject(486)
        assert (await carrier.wait_state("DISCONNECTED"))["last_status_code"] == 486
    finally:
        await registrar.stop()
        await carrier.close()
        await desk.close()


async def test_chat_ops_with_good_and_bad_arguments(env: BotEnv) -> None:
    owner = TgUser(700061, "Ops")
    await onboard(env, owner, "Ops Co")
    added = await env.say(owner, f"/trunk_add office {CARRIER_IP}:25294 ip")
    trunk = re.search(r"#(\d+)", added)
    assert trunk, added
    script = [
        ("/employee_add Anna 160 anna@example.com", "extension 160"),
        ("/employee_edit 160", "Usage: /employee_edit"),
        ("/employee_edit 999 name X", "no employee with extension 999"),
        ("/employee_edit 160 mobile +79161112233", "mobile 79161112233"),
        ("/employee_edit 160 email nope", "not a valid e-mail"),
        ("/employee_disable x1", "not a valid extension"),
        ("/employee_disable 160", "disabled"),
        ("/employee_enable 160", "enabled"),
        ("/invite 160 boss", "Usage: /invite"),
        ("/trunk_add x", "Usage: /trunk_add"),
        ("/number_add +74951110000 x 160", "Usage: /number_add"),
        ("/number_add +74951110000 99999 160", "no trunk #99999"),
        (f"/number_add +74951110000 {trunk.group(1)} 160", "74951110000 now ring 160"),
        (f"/number_add +74951110000 {trunk.group(1)} 160", "already one of your numbers"),
        ("/number_route +70000000000 160", "not one of your company's numbers"),
        ("/number_route +74951110000 161", "no employee with extension 161"),
        ("/forward sometimes", "Usage: /forward"),
        ("/language fr", "Usage: /language"),
        ("/calls sideways", "Unknown filter"),
        ("/employee_remove", "Usage: /employee_remove"),
        ("/employee_remove 160", "Removed Anna"),
        ("/numbers", "74951110000 → —"),  # the number stays, unrouted
        ("/employee_add Bob 161", "extension 161"),
        ("/employee_add Cat 162", "extension 162"),
        ("/employee_add Dan 163", "extension 163"),
    ]
    for command, expected in script:
        answer = await env.say(owner, command)
        assert expected in answer, (command, answer)
    audit = await env.say_message(owner, "/audit")
    assert ("▶", "audit:1") in audit.buttons  # more than a page of changes
    first_page = audit.text
    await env.tg.press(owner, audit, "audit:1")
    older = await env.tg.next_message(owner.id)
    assert older.method == "editMessageText" and older.text != first_page
    assert "company.create" in older.text and ("◀", "audit:0") in older.buttons
