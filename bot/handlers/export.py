"""`/recordings_zip [filter words]`: every recording of a period as one ZIP (owner, admin,
supervisor), with a progress message edited as it is packed; a document when it fits in
Telegram, a signed link valid for a day otherwise."""

from __future__ import annotations

import time

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import FSInputFile, Message

from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.export import Exporter, ExportResult
from pbx.services.history import parse_filter

routes = Routes("export")

EDIT_INTERVAL = 1.0  # seconds between edits of the progress message
UPLOAD_TIMEOUT = 600  # seconds for Telegram to take a document of up to 50 MB


class ProgressMessage:
    """Edits "Preparing… 3/40" at most once a second (and once more when done)."""

    def __init__(self, message: Message, tr: Translator) -> None:
        self.message, self.tr = message, tr
        self.shown = message.text or ""
        self.edited_at = time.monotonic()

    async def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.edited_at < EDIT_INTERVAL:
            return
        text = self.tr("export-progress", done=done, total=total)
        if text == self.shown:
            return
        try:
            await self.message.edit_text(text)
        except TelegramBadRequest:
            return  # e.g. the user deleted the message: the export goes on
        self.shown, self.edited_at = text, now


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


@routes.message(Command("recordings_zip"), member=True)
async def recordings_zip(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    bot: Bot,
) -> None:
    exporter = Exporter(cabinet.pool, cabinet.settings)
    # Role, filter words and "nothing to export" are answered before any file is made.
    rows = await exporter.select(actor, parse_filter(command.args))
    status = await message.answer(tr("export-progress", done=0, total=len(rows)))
    result = await exporter.build(actor, rows, ProgressMessage(status, tr))
    if result.link is None:
        await _send_document(message, bot, tr, result)
    else:
        await message.answer(
            tr(
                "export-link",
                count=result.count,
                size_mb=_mb(result.size),
                url=result.link,
                expires=tr.when(result.expires_at),
            )
        )
    if result.missing:
        await message.answer(tr("export-missing", count=result.missing))


async def _send_document(message: Message, bot: Bot, tr: Translator, result: ExportResult) -> None:
    try:
        await bot.send_document(
            message.chat.id,
            FSInputFile(result.path, filename=result.download_name),
            caption=tr("export-ready", count=result.count, size_mb=_mb(result.size)),
            request_timeout=UPLOAD_TIMEOUT,
        )
    finally:
        # Telegram keeps the document; the file was only needed for the upload.
        result.path.unlink(missing_ok=True)
