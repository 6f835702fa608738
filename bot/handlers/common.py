"""`/help` for the user's role and `/language`; everything else from non-members."""

from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.chatops import Usage, one_word
from bot.i18n import LANGUAGES, Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet, Perm, TgUser

routes = Routes("common")


@routes.message(Command("help"), member=True)
async def help_(message: Message, actor: Actor, tr: Translator) -> None:
    parts = [tr("help-title", role=tr(f"role-{actor.role}")), tr("help-common")]
    if actor.employee_id is not None:
        parts.append(tr("help-employee"))
    parts.append(tr("help-voicemail"))
    parts.append(tr("help-stats"))
    if actor.can(Perm.VIEW_EMPLOYEES):
        parts.append(tr("help-staff"))
        parts.append(tr("help-recordings"))
    if actor.can(Perm.MANAGE_EMPLOYEES):
        parts.append(tr("help-admin"))
    if actor.can(Perm.MANAGE_NUMBERS):
        parts.append(tr("help-numbers"))
        parts.append(tr("help-scenarios"))
        parts.append(tr("help-recording-setup"))
    if actor.can(Perm.MANAGE_EMPLOYEES):
        parts.append(tr("help-billing"))
    if actor.can(Perm.VIEW_AUDIT):
        parts.append(tr("help-owner"))
    await message.answer("\n".join(parts))


@routes.message(Command("language"))
async def language(
    message: Message, command: CommandObject, cabinet: Cabinet, tg_user: TgUser, tr: Translator
) -> None:
    try:
        lang = one_word(command.args, LANGUAGES)
    except Usage:
        await message.answer(tr("usage", usage="/language en|ru"))
        return
    await cabinet.set_language(tg_user.tg_id, lang)
    await message.answer(Translator(lang)("language-set"))
