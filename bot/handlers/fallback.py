"""Anything no other handler took: a short hint instead of silence."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor

routes = Routes("fallback")


@routes.message()
async def not_understood(
    message: Message, tr: Translator, state: FSMContext, actor: Actor | None
) -> None:
    if actor is None and await state.get_state() is None:
        await message.answer(tr("not-member"))  # a member's command from a stranger
        return
    if await state.get_state() is not None:
        await message.answer(tr("answer-expected"))  # a dialogue waits for text
        return
    await message.answer(tr("not-understood"))


@routes.callback_query()
async def stale_button(query: CallbackQuery, tr: Translator) -> None:
    await query.answer(tr("button-expired"))
