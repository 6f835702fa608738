"""Call history for owners, admins and supervisors (employees: their own calls):
filters as words, pages with inline buttons, a card per call."""

from __future__ import annotations

from dataclasses import replace

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.history import CallCard, CallFilter, History, parse_filter

routes = Routes("history")


def _result(tr: Translator, c: CallCard) -> str:
    """The outcome in words, the same in the list and on the card (and in the CLI)."""
    return tr("call-result", result=c.result, talk=c.talk_seconds)


def _render(
    tr: Translator, cards: list[CallCard], page: int, more: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not cards:
        return tr("calls-empty"), None
    lines = [tr("calls-title", zone=tr.zone())]
    for i, c in enumerate(cards, 1):
        line = tr(
            "call-line",
            when=tr.when(c.started_at, "%m-%d %H:%M", named=False),
            direction=c.direction,
            caller=c.caller,
            callee=c.callee,
            result=_result(tr, c),
        )
        lines.append(f"{i}. {line}")
    numbers = [
        InlineKeyboardButton(text=str(i), callback_data=f"call:{c.id}")
        for i, c in enumerate(cards, 1)
    ]
    rows = [numbers[:5], numbers[5:]]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=f"hist:{page - 1}"))
    if more:
        nav.append(InlineKeyboardButton(text="▶", callback_data=f"hist:{page + 1}"))
    markup = InlineKeyboardMarkup(inline_keyboard=[r for r in (*rows, nav) if r])
    return "\n".join(lines), markup


@routes.message(Command("calls", "missed"), member=True)
async def calls(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
) -> None:
    f = parse_filter(command.args)
    if command.command == "missed":
        f = replace(f, missed=True)
    await send_first_page(message, actor, cabinet, tr, state, f)


async def send_first_page(
    message: Message,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
    f: CallFilter,
    mine: bool = False,
) -> None:
    cards, more = await History(cabinet.pool).page(actor, f, 0, mine)
    # The filter (and whose calls) the page buttons continue with.
    await state.update_data(history=f.to_dict(), history_mine=mine)
    text, markup = _render(tr, cards, 0, more)
    await message.answer(text, reply_markup=markup)


@routes.callback_query(F.data.startswith("hist:"), member=True)
async def turn_page(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator, state: FSMContext
) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    page = max(0, int(query.data[5:]) if query.data[5:].isdigit() else 0)
    data = await state.get_data()
    f = CallFilter.from_dict(data.get("history", {}))
    cards, more = await History(cabinet.pool).page(actor, f, page, bool(data.get("history_mine")))
    text, markup = _render(tr, cards, page, more)
    await query.message.edit_text(text, reply_markup=markup)


@routes.callback_query(F.data.startswith("call:"), member=True)
async def call_card(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    call_id = int(query.data[5:]) if query.data[5:].isdigit() else 0
    c = await History(cabinet.pool).card(actor, call_id)
    rec = await cabinet.recording_of_call(actor, c.id)
    listen = (
        InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=tr("call-listen"), callback_data=f"rec:{rec}")]
            ]
        )
        if rec is not None
        else None
    )
    await query.message.answer(
        tr(
            "call-card",
            id=str(c.id),
            direction=c.direction,
            caller=c.caller,
            callee=c.callee,
            started=tr.when(c.started_at, "%Y-%m-%d %H:%M:%S"),
            result=_result(tr, c),
            cause=c.hangup_cause,
            wait=c.wait_seconds,
            talk=c.talk_seconds,
            number=c.number or "—",
            trunk=c.trunk or "—",
        ),
        reply_markup=listen,
    )
