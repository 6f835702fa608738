"""Alerts in Telegram: a message with a "Call back" button, or a voice message for voicemail."""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from notifications.outbox import OutboxItem, RetryLater, Undeliverable
from notifications.render import Rendered, render

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


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
