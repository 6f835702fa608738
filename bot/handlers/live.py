"""`/now`: calls in progress, who rings and who talks, registered phones and queues;
🔄 Refresh edits the same message."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.live import LiveView

routes = Routes("live")
REFRESH = "live:refresh"


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


def render(tr: Translator, view: LiveView, now: datetime) -> str:
    lines = [tr("now-title", at=tr.when(now, "%H:%M:%S"))]
    if not view.live_known:
        lines.append(tr("now-no-live"))
    elif not view.calls:
        lines.append(tr("now-no-calls"))
    for c in view.calls:
        who = [view.names.get(e, str(e)) for e in c.talking or c.ringing]
        lines.append(
            tr(
                "now-call",
                caller=c.caller,
                callee=c.callee,
                state=tr(f"now-state-{c.state}"),
                since=_ago((now - c.started_at).total_seconds()),
                who=", ".join(who) or "—",
                target=c.target or "—",
            )
        )
    lines.append(tr("now-people-title"))
    for e in view.people:
        mark = "📞" if e.on_call else ("🟢" if e.registered else "⚪")
        lines.append(f"{mark} {e.ext or '—'} {e.name}")
    for name, waiting in view.queues.items():
        lines.append(tr("now-queue", name=name, waiting=waiting))
    return "\n".join(lines)


def _markup(tr: Translator) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=tr("now-refresh"), callback_data=REFRESH)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


@routes.message(Command("now"), member=True)
async def now(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    text = render(tr, await cabinet.live_view(actor), datetime.now(UTC))
    parts = chunks(text.split("\n"))
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=_markup(tr))


@routes.callback_query(F.data == REFRESH, member=True)
async def refresh(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    text = render(tr, await cabinet.live_view(actor), datetime.now(UTC))
    try:
        await query.message.edit_text(chunks(text.split("\n"))[-1], reply_markup=_markup(tr))
    except TelegramBadRequest:
        pass  # "message is not modified": nothing changed since the last look
