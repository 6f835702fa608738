"""The notification outbox against real parts: PostgreSQL, an SMTP server (aiosmtpd), an
HTTP SMS gateway (aiohttp) and the fake Telegram Bot API cloud speaking the real protocol."""

from __future__ import annotations

import asyncio
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs

import asyncpg
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import web
from aiosmtpd.controller import Controller

from notifications.email import EmailSender
from notifications.outbox import Channel, OutboxItem, Status, enqueue, get
from notifications.service import start_worker
from notifications.sms import SmsSender
from notifications.telegram import TelegramSender, TelegramSession
from notifications.worker import OutboxWorker
from pbx.config import Settings
from tests.support.fake_telegram import FakeTelegram, TgUser

# Ports of this module (27500-27599).
TG_PORT = 27500
SMTP_PORT = 27510
SMTP_LATE_PORT = 27511
SMTP_REFUSING_PORT = 27512
SMTP_WIRING_PORT = 27513
SMS_PORT = 27520

ALICE = TgUser(id=5001, first_name="Alice", language_code="en")
BORIS = TgUser(id=5002, first_name="Борис", language_code="ru")
AT = "2026-12-01T08:05:00+00:00"  # 11:05 in Moscow


class ShiftedClock:
    """Real time plus an offset the test moves forward (to make retries due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def payload(call_id: int, *, lang: str = "en", **extra: Any) -> dict[str, Any]:
    return {
        "lang": lang,
        "call_id": call_id,
        "caller": "+74951234567",
        "number": "+74950000000",
        "at": AT,
        "target": "group Sales",
        "company_tz": "Europe/Moscow",
        **extra,
    }


@pytest.fixture(scope="module")
async def company(pool: asyncpg.Pool) -> int:
    cid: int = await pool.fetchval(
        "INSERT INTO companies (name, sip_domain) VALUES ('Outbox Ltd', $1) RETURNING id",
        f"outbox-{datetime.now(UTC).timestamp()}.test",
    )
    return cid


@pytest.fixture(autouse=True)
async def empty_outbox(pool: asyncpg.Pool) -> None:
    # Workers take every due row of their channels: start each test from none.
    await pool.execute("DELETE FROM outbox")


class Recording(NamedTuple):
    path: Path
    data: bytes


@pytest.fixture(scope="module")
def voicemail(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A real OGG/Opus voicemail (what the engine stores and Telegram plays)."""
    path = tmp_path_factory.mktemp("vm") / "vm-42.ogg"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=1"),
            *("-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k", str(path)),
        ],
        check=True,
    )
    return Recording(path, path.read_bytes())


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(port=TG_PORT)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def tg_sender(tg: FakeTelegram) -> AsyncIterator[TelegramSender]:
    bot = tg.make_bot()
    yield TelegramSender(bot)
    await bot.session.close()


@pytest.fixture
async def service_sender(tg: FakeTelegram) -> AsyncIterator[TelegramSender]:
    """A sender over the session the service's bot uses (bot.app.build_bot)."""
    bot = Bot(tg.token, session=TelegramSession(api=tg.api_server))
    yield TelegramSender(bot)
    await bot.session.close()


async def add(
    pool: asyncpg.Pool,
    company: int,
    channel: Channel,
    recipient: str,
    key: str,
    *,
    kind: str = "missed_call",
    data: dict[str, Any] | None = None,
    attachment: str | None = None,
) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        return await enqueue(
            conn,
            company_id=company,
            channel=channel,
            recipient=recipient,
            kind=kind,
            payload=data or payload(1),
            dedup_key=key,
            attachment=attachment,
        )


async def item(pool: asyncpg.Pool, company: int, key: str) -> OutboxItem:
    async with pool.acquire() as conn:
        found = await get(conn, company_id=company, dedup_key=key)
    assert found is not None, f"no outbox row {key}"
    return found


# ---------------------------------------------------------------- enqueue


async def test_enqueue_twice_makes_one_row(pool: asyncpg.Pool, company: int) -> None:
    assert await add(pool, company, Channel.TELEGRAM, "5001", "missed:1:tg:1") is True
    assert await add(pool, company, Channel.TELEGRAM, "5001", "missed:1:tg:1") is False
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
    row = await item(pool, company, "missed:1:tg:1")
    assert (row.status, row.attempts, row.payload["caller"]) == (Status.PENDING, 0, "+74951234567")


async def test_enqueue_in_rolled_back_transaction_leaves_nothing(
    pool: asyncpg.Pool, company: int
) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with pool.acquire() as conn, conn.transaction():
            added = await enqueue(
                conn,
                company_id=company,
                channel=Channel.EMAIL,
                recipient="a@example.com",
                kind="missed_call",
                payload=payload(2),
                dedup_key="missed:2:email:1",
            )
            assert added
            raise Abort  # the call record failed: its alert must not exist either
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_enqueue_refuses_unknown_kind(pool: asyncpg.Pool, company: int) -> None:
    with pytest.raises(ValueError, match="no renderer"):
        await add(pool, company, Channel.SMS, "+79990000000", "x:1", kind="fax_received")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


# ---------------------------------------------------------------- Telegram


async def test_telegram_missed_call_has_call_back_button(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    tg.add_user(BORIS)
    await add(pool, company, Channel.TELEGRAM, str(BORIS.id), "m:42", data=payload(42, lang="ru"))
    worker = OutboxWorker(pool, {Channel.TELEGRAM: tg_sender})
    assert await worker.run_once() == 1

    msg = await tg.next_message(BORIS.id)
    assert msg.method == "sendMessage"
    assert msg.text is not None
    assert "Пропущенный звонок от +74951234567" in msg.text
    assert "01.12.2026 11:05 MSK" in msg.text
    assert "group Sales" in msg.text and "+74950000000" in msg.text
    assert msg.buttons == [("Перезвонить", "cb:call:42")]
    row = await item(pool, company, "m:42")
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert row.sent_at is not None


async def test_telegram_429_delays_delivery_without_dropping_it(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    tg.add_user(ALICE)
    tg.fail_next("sendMessage", 429, retry_after=7)
    clock = ShiftedClock()
    worker = OutboxWorker(pool, {Channel.TELEGRAM: tg_sender}, clock=clock, backoff_base=5)
    await add(pool, company, Channel.TELEGRAM, str(ALICE.id), "m:43", data=payload(43))

    assert await worker.run_once() == 1
    row = await item(pool, company, "m:43")
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.last_error is not None and "flood" in row.last_error
    wait = (row.next_attempt_at - clock()).total_seconds()
    assert 6 < wait <= 7.5  # Telegram's retry_after, longer than the first backoff (5 s)
    assert [r.status for r in tg.call_log if r.method == "sendMessage"] == [429]

    assert await worker.run_once() == 0  # not due yet
    clock.advance(8)
    assert await worker.run_once() == 1
    msg = await tg.next_message(ALICE.id)
    assert msg.text is not None and msg.text.startswith("📞 Missed call from +74951234567")
    assert msg.buttons == [("Call back", "cb:call:43")]
    row = await item(pool, company, "m:43")
    assert (row.status, row.attempts) == (Status.SENT, 2)


async def test_telegram_blocked_user_fails_once_and_for_all(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    tg.add_user(ALICE)
    tg.block(ALICE)
    clock = ShiftedClock()
    worker = OutboxWorker(pool, {Channel.TELEGRAM: tg_sender}, clock=clock)
    await add(pool, company, Channel.TELEGRAM, str(ALICE.id), "m:44", data=payload(44))
    await add(pool, company, Channel.TELEGRAM, "777000", "m:45", data=payload(45))  # never met

    assert await worker.run_once() == 2
    blocked = await item(pool, company, "m:44")
    unknown = await item(pool, company, "m:45")
    assert (blocked.status, blocked.attempts) == (Status.FAILED, 1)
    assert blocked.last_error is not None and "blocked" in blocked.last_error
    assert unknown.status == Status.FAILED
    assert unknown.last_error is not None and "chat not found" in unknown.last_error
    clock.advance(86400)
    assert await worker.run_once() == 0  # never retried
    assert len(tg.calls_of("sendMessage")) == 2


@pytest.mark.parametrize("session", [TelegramSession, AiohttpSession])
async def test_telegram_unreadable_2xx_reply_is_sent_once(
    pool: asyncpg.Pool,
    company: int,
    tg: FakeTelegram,
    voicemail: Recording,
    session: type[AiohttpSession],
) -> None:
    # Telegram delivered the voicemail but the reply was cut short: sending it again
    # would give the person the same voicemail twice (issue 13: five times).
    tg.add_user(ALICE)
    tg.garble_next("sendVoice", 200)
    clock = ShiftedClock()
    bot = Bot(tg.token, session=session(api=tg.api_server))
    worker = OutboxWorker(pool, {Channel.TELEGRAM: TelegramSender(bot)}, clock=clock)
    await add(
        pool,
        company,
        Channel.TELEGRAM,
        str(ALICE.id),
        "vm:48",
        kind="voicemail",
        data=payload(48, duration=3, box="Sales"),
        attachment=str(voicemail.path),
    )
    try:
        assert await worker.run_once() == 1
    finally:
        await bot.session.close()
    row = await item(pool, company, "vm:48")
    assert (row.status, row.attempts) == (Status.SENT, 1)
    clock.advance(86400)
    assert await worker.run_once() == 0
    assert len(tg.calls_of("sendVoice")) == 1
    assert [m.method for m in tg.messages_to(ALICE.id)] == ["sendVoice"]


async def test_telegram_unreadable_error_page_is_retried(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, service_sender: TelegramSender
) -> None:
    # A proxy's 502 page: Telegram never took the request, so it is sent again later.
    tg.add_user(ALICE)
    tg.garble_next("sendMessage", 502)
    clock = ShiftedClock()
    worker = OutboxWorker(pool, {Channel.TELEGRAM: service_sender}, clock=clock)
    await add(pool, company, Channel.TELEGRAM, str(ALICE.id), "m:49", data=payload(49))

    assert await worker.run_once() == 1
    row = await item(pool, company, "m:49")
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.last_error is not None and "HTTP 502" in row.last_error
    assert tg.messages_to(ALICE.id) == []
    clock.advance(3600)
    assert await worker.run_once() == 1
    msg = await tg.next_message(ALICE.id)
    assert msg.buttons == [("Call back", "cb:call:49")]
    assert (await item(pool, company, "m:49")).status == Status.SENT
    assert len(tg.calls_of("sendMessage")) == 2


async def test_telegram_voicemail_is_a_voice_message_with_the_file(
    pool: asyncpg.Pool,
    company: int,
    tg: FakeTelegram,
    tg_sender: TelegramSender,
    voicemail: Recording,
) -> None:
    tg.add_user(ALICE)
    data = payload(46, duration=42, box="Sales")
    await add(
        pool,
        company,
        Channel.TELEGRAM,
        str(ALICE.id),
        "vm:46",
        kind="voicemail",
        data=data,
        attachment=str(voicemail.path),
    )
    assert await OutboxWorker(pool, {Channel.TELEGRAM: tg_sender}).run_once() == 1

    msg = await tg.next_message(ALICE.id)
    assert msg.method == "sendVoice"
    assert msg.file is not None and msg.file.data == voicemail.data
    assert msg.message["voice"]["duration"] == 42
    assert msg.text is not None
    assert "voicemail from +74951234567" in msg.text
    assert "Duration: 0:42" in msg.text and "Voice mailbox: Sales" in msg.text
    assert "2026-12-01 11:05 MSK" in msg.text
    assert msg.buttons == [("Call back", "cb:call:46")]


async def test_worker_wakes_on_notify_and_stops(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    tg.add_user(ALICE)
    # Polling every 60 s: a delivery within seconds can only come from LISTEN/NOTIFY.
    worker = OutboxWorker(pool, {Channel.TELEGRAM: tg_sender}, poll_seconds=60)
    await worker.start()
    try:
        await asyncio.wait_for(worker.idle.wait(), 5)
        await add(pool, company, Channel.TELEGRAM, str(ALICE.id), "m:47", data=payload(47))
        msg = await tg.next_message(ALICE.id, timeout=5)
        assert msg.buttons == [("Call back", "cb:call:47")]
    finally:
        await worker.stop()
    assert (await item(pool, company, "m:47")).status == Status.SENT


# ---------------------------------------------------------------- e-mail


class Mailbox:
    """aiosmtpd handler keeping what it accepted; refuses the addresses in `refuse`."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield controller, box
    controller.stop()


def email_sender(port: int) -> EmailSender:
    return EmailSender(host="127.0.0.1", port=port, sender="PBX <pbx@example.com>", timeout=5)


async def test_email_voicemail_carries_the_recording(
    pool: asyncpg.Pool,
    company: int,
    smtp_server: tuple[Controller, Mailbox],
    voicemail: Recording,
) -> None:
    _, box = smtp_server
    data = payload(50, lang="ru", duration=75, box="Продажи")
    await add(
        pool,
        company,
        Channel.EMAIL,
        "boss@example.com",
        "vm:50:email",
        kind="voicemail",
        data=data,
        attachment=str(voicemail.path),
    )
    worker = OutboxWorker(pool, {Channel.EMAIL: email_sender(SMTP_PORT)})
    assert await worker.run_once() == 1

    [(rcpts, msg)] = box.messages
    assert rcpts == ["boss@example.com"]
    assert msg["Subject"] == "Голосовое сообщение от +74951234567 (1:15)"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Длительность: 1:15" in text and "Голосовой ящик: Продажи" in text
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "audio/ogg"
    assert attachment.get_filename() == "vm-42.ogg"
    assert attachment.get_content() == voicemail.data
    assert (await item(pool, company, "vm:50:email")).status == Status.SENT


async def test_email_waits_for_smtp_server_to_come_up(pool: asyncpg.Pool, company: int) -> None:
    clock = ShiftedClock()
    worker = OutboxWorker(pool, {Channel.EMAIL: email_sender(SMTP_LATE_PORT)}, clock=clock)
    await add(pool, company, Channel.EMAIL, "ops@example.com", "m:51:email", data=payload(51))

    assert await worker.run_once() == 1  # nobody listens on the port yet
    row = await item(pool, company, "m:51:email")
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.last_error is not None and row.last_error.startswith("smtp:")

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_LATE_PORT)
    controller.start()
    try:
        clock.advance(10)
        assert await worker.run_once() == 1
    finally:
        controller.stop()
    [(rcpts, msg)] = box.messages
    assert rcpts == ["ops@example.com"]
    assert msg["Subject"] == "Missed call from +74951234567"
    assert not list(msg.iter_attachments())
    row = await item(pool, company, "m:51:email")
    assert (row.status, row.attempts) == (Status.SENT, 2)


async def test_email_refused_recipient_is_failed(pool: asyncpg.Pool, company: int) -> None:
    box = Mailbox(refuse=frozenset({"gone@example.com"}))
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_REFUSING_PORT)
    controller.start()
    try:
        await add(pool, company, Channel.EMAIL, "gone@example.com", "m:52:email", data=payload(52))
        worker = OutboxWorker(pool, {Channel.EMAIL: email_sender(SMTP_REFUSING_PORT)})
        assert await worker.run_once() == 1
    finally:
        controller.stop()
    row = await item(pool, company, "m:52:email")
    assert row.status == Status.FAILED
    assert row.last_error is not None and "550" in row.last_error
    assert box.messages == []


# ---------------------------------------------------------------- SMS


class Gateway:
    """A small HTTP SMS gateway: records requests, answers scripted statuses (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], str]] = []
        self.statuses: deque[int] = deque()
        self.always: int | None = None
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        query = parse_qs(request.rel_url.raw_query_string, keep_blank_values=True)
        self.requests.append((request.method, request.rel_url.raw_query_string, query, body))
        status = self.statuses.popleft() if self.statuses else (self.always or 200)
        return web.Response(status=status, text="OK" if status < 300 else f"error {status}")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/send", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", SMS_PORT).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway()
    await gw.start()
    yield gw
    await gw.stop()


@pytest.fixture
async def sms() -> AsyncIterator[SmsSender]:
    sender = SmsSender(
        f"http://127.0.0.1:{SMS_PORT}/send?to={{to}}&text={{text}}&from={{sender}}",
        sender="My PBX",
    )
    yield sender
    await sender.close()


async def test_sms_template_is_encoded_and_503_retried(
    pool: asyncpg.Pool, company: int, gateway: Gateway, sms: SmsSender
) -> None:
    gateway.statuses.append(503)
    clock = ShiftedClock()
    worker = OutboxWorker(pool, {Channel.SMS: sms}, clock=clock)
    await add(pool, company, Channel.SMS, "+79991234567", "m:60:sms", data=payload(60, lang="ru"))

    assert await worker.run_once() == 1
    row = await item(pool, company, "m:60:sms")
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.last_error is not None and "503" in row.last_error
    clock.advance(10)
    assert await worker.run_once() == 1

    assert len(gateway.requests) == 2
    method, raw, query, _ = gateway.requests[1]
    assert method == "GET"
    assert "to=%2B79991234567" in raw and "from=My%20PBX" in raw
    assert query["to"] == ["+79991234567"]
    assert query["text"] == ["Пропущенный звонок от +74951234567 в 11:05"]
    assert query["from"] == ["My PBX"]
    row = await item(pool, company, "m:60:sms")
    assert (row.status, row.attempts) == (Status.SENT, 2)


async def test_sms_post_form_and_refusal(
    pool: asyncpg.Pool, company: int, gateway: Gateway
) -> None:
    sender = SmsSender(
        f"http://127.0.0.1:{SMS_PORT}/send?key=abc",
        method="POST",
        body_template="phone={to}&message={text}&from={sender}",
    )
    try:
        worker = OutboxWorker(pool, {Channel.SMS: sender})
        await add(pool, company, Channel.SMS, "+79991230001", "m:61:sms", data=payload(61))
        await add(pool, company, Channel.SMS, "+79991230002", "m:62:sms", data=payload(62))
        gateway.statuses.extend([200, 400])
        assert await worker.run_once() == 2
    finally:
        await sender.close()

    assert [(m, raw) for m, raw, _, _ in gateway.requests] == [("POST", "key=abc")] * 2
    form = parse_qs(gateway.requests[0][3])
    assert form == {
        "phone": ["+79991230001"],
        "message": ["Missed call from +74951234567 at 11:05"],
        "from": ["PBX"],
    }
    assert (await item(pool, company, "m:61:sms")).status == Status.SENT
    refused = await item(pool, company, "m:62:sms")
    assert refused.status == Status.FAILED
    assert refused.last_error is not None and "400" in refused.last_error


async def test_sms_gives_up_after_max_attempts(
    pool: asyncpg.Pool, company: int, gateway: Gateway, sms: SmsSender
) -> None:
    gateway.always = 502
    clock = ShiftedClock()
    worker = OutboxWorker(
        pool, {Channel.SMS: sms}, clock=clock, max_attempts=3, backoff_base=5, backoff_cap=8
    )
    await add(pool, company, Channel.SMS, "+79991234567", "m:63:sms", data=payload(63))
    delays = []
    for _ in range(3):
        assert await worker.run_once() == 1
        row = await item(pool, company, "m:63:sms")
        delays.append(round((row.next_attempt_at - clock()).total_seconds()))
        clock.advance(10)
    row = await item(pool, company, "m:63:sms")
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts")
    assert delays[:2] == [5, 8]  # exponential, capped
    assert len(gateway.requests) == 3
    assert await worker.run_once() == 0


async def test_two_workers_deliver_each_row_once(
    pool: asyncpg.Pool, company: int, gateway: Gateway, sms: SmsSender
) -> None:
    phones = [f"+7999000{n:04d}" for n in range(30)]
    for n, phone in enumerate(phones):
        await add(pool, company, Channel.SMS, phone, f"m:{100 + n}:sms", data=payload(100 + n))
    one = OutboxWorker(pool, {Channel.SMS: sms}, batch_size=4)
    two = OutboxWorker(pool, {Channel.SMS: sms}, batch_size=4)
    handled = await asyncio.gather(one.run_once(), two.run_once())
    assert sum(handled) == 30
    sent_to = sorted(query["to"][0] for _, _, query, _ in gateway.requests)
    assert sent_to == sorted(phones)  # every phone exactly once
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'") == 30


# ---------------------------------------------------------------- restart


class Hang:
    """A channel whose process dies mid-send: the send starts and never completes."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.entered = 0
        self.all_in = asyncio.Event()

    async def send(self, item: OutboxItem) -> None:
        self.entered += 1
        if self.entered >= self.expected:
            self.all_in.set()
        await asyncio.Event().wait()


async def test_restart_resumes_pending_deliveries_after_the_lease(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    tg.add_user(ALICE)
    lease = 1.5
    for call_id in (70, 71, 72):
        await add(
            pool, company, Channel.TELEGRAM, str(ALICE.id), f"m:{call_id}", data=payload(call_id)
        )

    hang = Hang(expected=3)
    crashed = OutboxWorker(pool, {Channel.TELEGRAM: hang}, lease_seconds=lease)
    await crashed.start()
    await asyncio.wait_for(hang.all_in.wait(), 5)
    claimed_at = asyncio.get_running_loop().time()
    await crashed.stop(grace=0.1)  # the process is gone; its leases stay
    rows = await pool.fetch("SELECT status, attempts, locked_until FROM outbox")
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1)] * 3
    assert all(r["locked_until"] > datetime.now(UTC) for r in rows)

    restarted = OutboxWorker(
        pool, {Channel.TELEGRAM: tg_sender}, lease_seconds=lease, poll_seconds=0.5
    )
    await restarted.start()
    try:
        got = [await tg.next_message(ALICE.id, timeout=10) for _ in range(3)]
    finally:
        await restarted.stop()  # lets the round finish its bookkeeping
    assert sorted(str(b) for m in got for _, b in m.buttons) == [
        "cb:call:70",
        "cb:call:71",
        "cb:call:72",
    ]
    assert min(m.at for m in got) >= claimed_at + lease - 0.5  # not before the lease ran out
    rows = await pool.fetch("SELECT status, attempts, sent_at FROM outbox")
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)] * 3
    # Exactly once: nothing left to deliver, and Telegram saw three sends.
    assert await OutboxWorker(pool, {Channel.TELEGRAM: tg_sender}).run_once() == 0
    assert len(tg.calls_of("sendMessage")) == 3


# ---------------------------------------------------------------- wiring from the settings


async def test_service_wiring_delivers_on_every_configured_channel(
    pool: asyncpg.Pool, company: int, tg: FakeTelegram, gateway: Gateway
) -> None:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_WIRING_PORT)
    controller.start()
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=SMTP_WIRING_PORT,
        smtp_from="PBX <pbx@example.com>",
        sms_gateway_url=f"http://127.0.0.1:{SMS_PORT}/send?to={{to}}&text={{text}}",
        outbox_poll_seconds=0.5,
    )
    tg.add_user(ALICE)
    bot = tg.make_bot()
    service = await start_worker(settings, pool, bot)
    try:
        assert set(service.channels) == {Channel.TELEGRAM, Channel.EMAIL, Channel.SMS}
        async with pool.acquire() as conn, conn.transaction():
            for channel, recipient in (
                (Channel.TELEGRAM, str(ALICE.id)),
                (Channel.EMAIL, "alice@example.com"),
                (Channel.SMS, "+79991234567"),
            ):
                await enqueue(
                    conn,
                    company_id=company,
                    channel=channel,
                    recipient=recipient,
                    kind="missed_call",
                    payload=payload(80),
                    dedup_key=f"missed:80:{channel}",
                )
        msg = await tg.next_message(ALICE.id, timeout=5)
        assert msg.buttons == [("Call back", "cb:call:80")]
    finally:
        await service.stop()
        await bot.session.close()
        controller.stop()
    # stop() lets the round finish: the e-mail and SMS of the same round are done too.
    statuses = await pool.fetch("SELECT channel, status FROM outbox ORDER BY channel")
    assert [(r["channel"], r["status"]) for r in statuses] == [
        ("email", "sent"),
        ("sms", "sent"),
        ("telegram", "sent"),
    ]
    assert [rcpts for rcpts, _ in box.messages] == [["alice@example.com"]]
    assert [query["to"] for _, _, query, _ in gateway.requests] == [["+79991234567"]]
