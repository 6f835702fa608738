"""FakeTelegram against the real aiogram: polling, webhook, files, errors, wire formats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from tests.support.fake_telegram import FakeTelegram, TgUser, buttons

ALICE = TgUser(id=1001, first_name="Alice", username="alice")
BOB = TgUser(id=1002, first_name="Bob", language_code="ru")
SECRET = "s3cr3t_Token-ok"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    b = tg.make_bot()
    yield b
    await b.session.close()


def make_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        name = message.from_user.first_name if message.from_user else "?"
        suffix = f" ({command.args})" if command.args else ""
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Calls", callback_data="menu:calls")],
                [InlineKeyboardButton(text="Help", url="https://example.org/help")],
            ]
        )
        await message.answer(
            f"Welcome, <b>{name}</b>{suffix}", parse_mode="HTML", reply_markup=keyboard
        )

    @router.callback_query(F.data.startswith("menu:"))
    async def menu(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"You chose {callback.data}")
        await callback.answer("done")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        data = await bot.download(message.document)
        assert data is not None
        await message.answer(f"{message.document.file_name}: {len(data.read())} bytes")

    @router.message(F.voice)
    async def voice(message: Message, bot: Bot) -> None:
        assert message.voice is not None
        data = await bot.download(message.voice)
        assert data is not None
        await message.answer(f"voice {message.voice.duration}s {len(data.read())} bytes")

    @router.message(F.text == "/ping")
    async def ping(message: Message) -> SendMessage:
        # returned, not awaited: in webhook mode aiogram puts it in the HTTP response
        return SendMessage(chat_id=message.chat.id, text="pong")

    return router


async def test_polling_roundtrip(tg: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(make_router())
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=30, close_bot_session=False)
    )
    try:
        await tg.wait_for_poller()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await tg.send_text(ALICE, "/start")
        welcome = await tg.next_message(ALICE.id)
        # the parked 30 s long poll returned at once when the update was pushed
        assert loop.time() - started < 2.0
        assert welcome.method == "sendMessage"
        assert welcome.text == "Welcome, Alice"
        assert welcome.raw_text == "Welcome, <b>Alice</b>"
        assert welcome.entities == [{"type": "bold", "offset": 9, "length": 5}]
        assert buttons(welcome) == [("Calls", "menu:calls"), ("Help", "https://example.org/help")]
        me = await tg.wait_for_call("getMe")
        assert me.params == {}
        polls = [c for c in tg.call_log if c.method == "getUpdates"]
        assert polls and polls[0].params["timeout"] == 30
        assert set(polls[0].params["allowed_updates"]) == {"message", "callback_query"}

        press = await tg.press(ALICE, welcome, "menu:calls")
        edited = await tg.next_message(ALICE.id)
        assert edited.method == "editMessageText"
        assert (edited.chat_id, edited.message_id) == (ALICE.id, welcome.message_id)
        assert edited.text == "You chose menu:calls"
        assert buttons(edited) == []  # an edit without reply_markup drops the keyboard
        answer = await tg.wait_for_call("answerCallbackQuery")
        assert answer.params["callback_query_id"] == press["callback_query"]["id"]
        assert answer.params["text"] == "done"
        assert tg.unanswered_callbacks() == []
        with pytest.raises(LookupError):  # the keyboard is gone: nothing to press
            await tg.press(ALICE, welcome, "menu:calls")

        await tg.send_document(ALICE, b"%PDF-1.4 " + b"x" * 12336, "report.pdf")
        reply = await tg.next_message(ALICE.id)
        assert reply.text == "report.pdf: 12345 bytes"
        await tg.send_voice(ALICE, b"OggS" + bytes(996), duration=3)
        reply = await tg.next_message(ALICE.id)
        assert reply.text == "voice 3s 1000 bytes"
        assert len([c for c in tg.calls if c.method == "getFile"]) == 2
        assert tg.downloads[0].startswith("documents/") and tg.downloads[1].startswith("voice/")
        # updates were confirmed by offsets: nothing left pending
        await tg.wait_for_call("getUpdates", lambda p: "offset" in p)
        assert tg.tokens_seen == [tg.token]
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)


async def _webhook_app(dp: Dispatcher, bot: Bot) -> tuple[web.AppRunner, int]:
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(app, path="/wh")
    SimpleRequestHandler(
        dispatcher=dp, bot=bot, secret_token=SECRET, handle_in_background=False
    ).register(app, path="/wh-sync")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_webhook_mode(tg: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(make_router())
    runner, port = await _webhook_app(dp, bot)
    try:
        url = f"http://127.0.0.1:{port}/wh"
        assert await bot.set_webhook(url, secret_token=SECRET)
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert tg.webhook_secret == SECRET

        update = await tg.send_text(BOB, "/start one")
        delivery = await tg.wait_for_delivery(update["update_id"])
        assert delivery.status == 200
        assert (await tg.next_message(BOB.id)).text == "Welcome, Bob (one)"

        forged = {**update, "update_id": update["update_id"] + 1000}
        forged["message"] = {**update["message"], "text": "/start forged"}
        assert (await tg.post_to_webhook(forged, secret_token="wrong"))[0] == 401
        assert (await tg.post_to_webhook(forged))[0] == 401
        await tg.send_text(BOB, "/start two")
        # had a forged update been handled, its reply would come first
        assert (await tg.next_message(BOB.id)).text == "Welcome, Bob (two)"

        with pytest.raises(TelegramConflictError):
            await bot.get_updates()

        # handle_in_background=False: the handler's method comes back in the HTTP response
        # (multipart form) and the fake executes it like Telegram does
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/wh-sync", secret_token=SECRET)
        update = await tg.send_text(BOB, "/ping")
        pong = await tg.next_message(BOB.id)
        assert pong.text == "pong"
        delivery = await tg.wait_for_delivery(update["update_id"])
        assert delivery.reply_method == "sendMessage"
        assert [r.via for r in tg.call_log if r.method == "sendMessage"][-1] == "webhook-reply"

        assert await bot.delete_webhook()
        assert tg.webhook_url is None
    finally:
        await runner.cleanup()


async def test_retry_after_and_rate(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(ALICE)
    tg.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as err:
        await bot.send_message(ALICE.id, "first")
    assert err.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in err.value.message
    record = tg.call_log[-1]
    assert (record.status, record.response["parameters"]) == (429, {"retry_after": 3})
    assert tg.messages_to(ALICE.id) == []

    await bot.send_message(ALICE.id, "first")
    assert tg.too_fast == []
    await bot.send_message(ALICE.id, "second")  # right after: faster than 1 msg/s
    assert [(t.chat_id, t.method) for t in tg.too_fast] == [(ALICE.id, "sendMessage")]
    tg.rate_enforce = True
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE.id, "third")
    assert [m.text for m in tg.messages_to(ALICE.id)] == ["first", "second"]


async def test_telegram_errors(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(ALICE.id, "hello")
    tg.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ALICE.id, "1 < 2 <br>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(ALICE.id, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            ALICE.id,
            "kb",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
            ),
        )
    sent = await bot.send_message(ALICE.id, "1 &lt; 2 &amp; <i>ok</i>", parse_mode="HTML")
    assert sent.text == "1 < 2 & ok"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "1 &lt; 2 &amp; <i>ok</i>",
            chat_id=ALICE.id,
            message_id=sent.message_id,
            parse_mode="HTML",
        )
    assert await bot.delete_message(ALICE.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("new", chat_id=ALICE.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")
    tg.block(ALICE)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(ALICE.id, "hello")
    tg.fail_next("getChat", error_code=500)
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.get_chat(ALICE.id)


async def test_bot_uploads_and_misc_methods(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(BOB)
    tg.rate_interval_ms = None
    csv = b"caller,callee,duration\n100,200,42\n"
    sent = await bot.send_document(
        BOB.id, BufferedInputFile(csv, "cdr.csv"), caption="<b>CDR</b>", parse_mode="HTML"
    )
    msg = await tg.next_message(BOB.id)
    assert msg.method == "sendDocument" and msg.text == "CDR"
    assert msg.file is not None and msg.file.data == csv and msg.file.filename == "cdr.csv"
    assert msg.file.mime_type == "text/csv"
    assert sent.document is not None and sent.document.file_name == "cdr.csv"
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == csv
    again = await bot.send_document(BOB.id, sent.document.file_id)  # re-send by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id

    photo = await bot.send_photo(BOB.id, BufferedInputFile(PNG_1x1, "p.png"))
    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)
    voice = await bot.send_voice(
        BOB.id, BufferedInputFile(b"OggS" + bytes(10), "v.ogg"), duration=2
    )
    assert voice.voice is not None and voice.voice.duration == 2
    audio = await bot.send_audio(
        BOB.id, BufferedInputFile(b"ID3" + bytes(10), "a.mp3"), title="Greeting"
    )
    assert audio.audio is not None and audio.audio.title == "Greeting"
    kinds = [m.method for m in tg.messages_to(BOB.id)]
    assert kinds == ["sendDocument", "sendDocument", "sendPhoto", "sendVoice", "sendAudio"]

    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.send_chat_action(BOB.id, "typing")
    assert tg.chat_actions == [(BOB.id, "typing")]
    chat = await bot.get_chat(BOB.id)
    assert (chat.id, chat.type, chat.first_name) == (BOB.id, "private", "Bob")
    me = await bot.get_me()
    assert me.id == bot.id and me.is_bot and me.username == tg.bot_username
    edited = await bot.edit_message_reply_markup(
        chat_id=BOB.id,
        message_id=photo.message_id,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Del", callback_data="del")]]
        ),
    )
    assert not isinstance(edited, bool) and edited.reply_markup is not None
    current = tg.current_message(BOB.id, photo.message_id)
    assert current is not None and buttons(current) == [("Del", "del")]


async def test_wire_formats(tg: FakeTelegram) -> None:
    tg.add_user(ALICE)
    base = f"{tg.base_url}/bot{tg.token}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/GETME") as resp:  # method names are case-insensitive
            body = await resp.json()
            assert resp.status == 200 and body["ok"] and body["result"]["is_bot"]
        async with http.post(f"{base}/sendMessage", json={"chat_id": ALICE.id, "text": "42"}) as r:
            assert (await r.json())["result"]["text"] == "42"
        form = {
            "chat_id": str(ALICE.id),
            "text": "true",
            "reply_markup": json.dumps(
                {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
            ),
        }
        async with http.post(f"{base}/sendMessage", data=form) as r:
            result = (await r.json())["result"]
            assert result["text"] == "true" and buttons(result) == [("A", "a")]
        mp = aiohttp.FormData()
        mp.add_field("chat_id", str(ALICE.id))
        mp.add_field("document", b"raw bytes", filename="raw.bin")
        async with http.post(f"{base}/sendDocument", data=mp) as r:
            doc = (await r.json())["result"]["document"]
            assert doc["file_name"] == "raw.bin" and doc["file_size"] == 9
        async with http.post(f"{base}/getFile", data={"file_id": doc["file_id"]}) as r:
            path = (await r.json())["result"]["file_path"]
        async with http.get(f"{tg.base_url}/file/bot{tg.token}/{path}") as r:
            assert await r.read() == b"raw bytes"
        async with http.get(f"{tg.base_url}/file/bot{tg.token}/documents/missing") as r:
            assert r.status == 404
        async with http.post(f"{base}/sendTelepathy", data={"chat_id": "1"}) as r:
            assert r.status == 404
            assert await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
    assert tg.calls[-1] == ("sendTelepathy", {"chat_id": 1})
    texts = [m.text for m in tg.messages_to(ALICE.id)]
    assert texts == ["42", "true", None]
