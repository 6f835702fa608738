"""Alerts in Telegram: a message with a "Call back" button, or a voice message for voicemail.

A send whose request Telegram accepted (HTTP 2xx) is delivered even when its reply cannot
be read: sending it again would show the person the same alert twice (issue 13, one
voicemail arrived five times). :class:`TelegramSession` tells such a reply apart from an
unreadable error page (a proxy's 502), which is retried.
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from notifications.outbox import OutboxItem, RetryLater, Undeliverable
from notifications.render import Rendered, render
from pbx.logging import get_logger

log = get_logger(__name__)

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


class UnreadableReply(ClientDecodeError):
    """Telegram answered 2xx (it took the request) but its reply could not be parsed."""

    def __init__(self, status_code: int, cause: ClientDecodeError) -> None:
        super().__init__(cause.message, cause.original, cause.data)
        self.status_code = status_code


class TelegramSession(AiohttpSession):
    """aiogram's session, except that an unreadable reply says whether Telegram took the
    request: 2xx raises :class:`UnreadableReply`, anything else a network error (retried)."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as exc:
            if 200 <= status_code < 300:
                raise UnreadableReply(status_code, exc) from exc
            raise TelegramNetworkError(
                method, f"HTTP {status_code} with an unreadable body: {content[:200]!r}"
            ) from exc


class TelegramSender:
    """Sends through an aiogram Bot (the service's own, with its flood control)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, item: OutboxItem) -> None:
        try:
            chat_id = int(item.recipient)
        except ValueError:
            raise Undeliverable(f"not a Telegram chat id: {item.recipient!r}") from None
        rendered = render(item.kind, item.payload)
        markup = _keyboard(rendered)
        try:
            if item.attachment:
                if not await asyncio.to_thread(os.path.isfile, item.attachment):
                    raise Undeliverable(f"attachment is gone: {item.attachment}")
                await self.bot.send_voice(
                    chat_id,
                    FSInputFile(item.attachment),
                    caption=rendered.text[:CAPTION_LIMIT],
                    duration=_duration(item),
                    reply_markup=markup,
                    parse_mode=None,  # plain text: numbers and names need no escaping
                )
            else:
                await self.bot.send_message(
                    chat_id, rendered.text[:TEXT_LIMIT], reply_markup=markup, parse_mode=None
                )
        except ClientDecodeError as exc:
            # Telegram took the request (TelegramSession raises this for 2xx only; a plain
            # session cannot tell, and a duplicate alert is worse than a lost reply).
            log.warning(
                "telegram_reply_unreadable_treated_as_sent",
                id=item.id,
                chat_id=chat_id,
                status=getattr(exc, "status_code", None),
                error=exc.message,
                body=str(exc.data)[:200],
            )
        except TelegramRetryAfter as exc:
            raise RetryLater(exc.retry_after, f"telegram flood control: {exc.message}") from exc
        except TelegramMigrateToChat as exc:
            raise Undeliverable(f"group moved to chat {exc.migrate_to_chat_id}") from exc
        except TelegramEntityTooLarge as exc:
            raise Undeliverable(f"file too large for Telegram: {exc.message}") from exc
        except (TelegramForbiddenError, TelegramBadRequest, TelegramNotFound) as exc:
            # Blocked by the user, chat not found, a request Telegram refuses: retrying
            # the same request cannot succeed.
            raise Undeliverable(f"telegram refused: {exc.message}") from exc
        except TelegramAPIError as exc:
            # Network errors, 5xx, an invalid token the operator will fix: try again later.
            raise RetryLater(None, f"telegram: {exc}") from exc


def _keyboard(rendered: Rendered) -> InlineKeyboardMarkup | None:
    if not rendered.buttons:
        return None
    row = [
        InlineKeyboardButton(text=b.text, callback_data=b.callback_data) for b in rendered.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row])


def _duration(item: OutboxItem) -> int | None:
    try:
        return max(0, round(float(item.payload["duration"])))
    except (KeyError, TypeError, ValueError):
        return None
