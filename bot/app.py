"""Building the bot: session (configurable Bot API server), Redis FSM, middlewares,
routers; running it by long polling or webhook inside the service's aiohttp app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.chatops import Usage
from bot.handlers import build_routers
from bot.handlers.billing import limit_markup
from bot.i18n import Translator
from notifications.telegram import TelegramSession
from pbx.config import Settings
from pbx.errors import PbxError
from pbx.logging import get_logger
from pbx.services.cabinet import Cabinet, TgUser

log = get_logger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


class FloodControl(BaseRequestMiddleware):
    """Telegram's limits: honour 429 retry_after (bounded retries) and keep to about one
    message per second per chat, so nobody is flooded and the bot is not throttled."""

    def __init__(self, per_chat_interval: float = 1.05, max_retries: int = 3) -> None:
        self.interval = per_chat_interval
        self.max_retries = max_retries
        self._next_slot: dict[int | str, float] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id: int | str = getattr(method, "chat_id", None) or 0
        paced = bool(chat_id) and type(method).__name__.startswith("Send")
        if paced:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(chat_id, 0.0))
            self._next_slot[chat_id] = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)  # a rate limit, not synchronisation
        for attempt in range(self.max_retries + 1):
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.max_retries:
                    raise
                log.warning(
                    "telegram_retry_after", method=type(method).__name__, seconds=exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
                continue
            if paced:
                # A send that had to wait (429) pushes the chat's next slot back too.
                self._next_slot[chat_id] = max(
                    self._next_slot[chat_id], time.monotonic() + self.interval
                )
            return result
        raise AssertionError("unreachable")


class Identity(BaseMiddleware):
    """Who is writing: their Telegram profile, membership (actor) and language; turns
    service errors into a clear answer in that language."""

    def __init__(self, cabinet: Cabinet) -> None:
        self.cabinet = cabinet

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        tg_user = await self.cabinet.remember(
            TgUser(user.id, user.first_name, user.username, user.language_code or "en")
        )
        data["tg_user"] = tg_user
        data["actor"] = actor = await self.cabinet.actor(user.id)
        data["cabinet"] = self.cabinet
        tr = data["tr"] = Translator(tg_user.language, actor.timezone if actor else "UTC")
        try:
            return await handler(event, data)
        except Usage:
            raise  # handlers answer their own usage lines
        except PbxError as exc:
            await _answer(event, tr.error(exc), limit_markup(exc, data.get("actor"), tr))
        except Exception as exc:
            log.error("bot_handler_failed", error=repr(exc))
            await _answer(event, tr("err-internal"))
        return None


async def _answer(
    event: TelegramObject, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
    elif isinstance(event, CallbackQuery):
        await event.answer()
        if isinstance(event.message, Message):
            await event.message.answer(text, reply_markup=markup)


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram_token
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_base)
        if settings.telegram_api_base
        else TelegramAPIServer.from_base("https://api.telegram.org")
    )
    session = TelegramSession(api=api)  # tells a 2xx with an unreadable reply apart
    session.middleware(FloodControl())
    return Bot(settings.telegram_token, session=session)


def build_dispatcher(cabinet: Cabinet, redis_url: str) -> Dispatcher:
    # Its own connection pool: aiogram closes the storage's client when polling stops.
    dp = Dispatcher(storage=RedisStorage.from_url(redis_url))
    identity = Identity(cabinet)
    dp.message.outer_middleware(identity)
    dp.callback_query.outer_middleware(identity)
    for router in build_routers():
        dp.include_router(router)
    return dp


class BotRunner:
    """Starts the bot in the service: webhook when a URL is configured, else polling."""

    def __init__(self, settings: Settings, cabinet: Cabinet) -> None:
        self.settings = settings
        self.bot = build_bot(settings)
        self.dp = build_dispatcher(cabinet, settings.redis_dsn)
        self._polling: asyncio.Task[None] | None = None

    def register(self, app: web.Application) -> None:
        """Add the webhook route (before the HTTP app starts); updates with a wrong
        secret_token are refused by aiogram's handler."""
        s = self.settings
        if s.telegram_webhook_url:
            if not s.telegram_webhook_secret:
                raise PbxError("PBX_TELEGRAM_WEBHOOK_SECRET must be set with a webhook URL")
            SimpleRequestHandler(
                self.dp, self.bot, secret_token=s.telegram_webhook_secret
            ).register(app, path=WEBHOOK_PATH)

    async def start(self) -> None:
        s = self.settings
        if s.telegram_webhook_url:
            await self.bot.set_webhook(
                s.telegram_webhook_url, secret_token=s.telegram_webhook_secret
            )
        else:
            await self.bot.delete_webhook()
            self._polling = asyncio.create_task(
                self.dp.start_polling(self.bot, handle_signals=False, polling_timeout=10)
            )

    async def stop(self) -> None:
        if self._polling is not None:
            await self.dp.stop_polling()
            await asyncio.wait([self._polling], timeout=15)
        await self.bot.session.close()
