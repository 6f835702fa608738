"""Employee self-service: SIP credentials (private chat only), DND, forwarding, my calls;
company calls and the audit log for the roles that may see them."""

from __future__ import annotations

import io
import json

import qrcode
from aiogram import F
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from qrcode.image.pure import PyPNGImage

from bot import chatops
from bot.chatops import Usage
from bot.handlers.history import send_first_page
from bot.i18n import TELEGRAM_LIMIT, Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.history import CallFilter
from pbx.services.provisioning import SipCredentials

routes = Routes("selfservice")


def sip_qr_png(c: SipCredentials) -> bytes:
    uri = f"sip:{c.login}:{c.password}@{c.domain};proxy={c.registrar};transport=udp"
    out = io.BytesIO()
    qrcode.make(uri, image_factory=PyPNGImage).save(out)
    return out.getvalue()


@routes.message(Command("my_sip"), member=True)
async def my_sip(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    if message.chat.type != ChatType.PRIVATE:
        await message.answer(tr("sip-private-only"))
        return
    c = await cabinet.my_credentials(actor)
    await message.answer(
        tr(
            "sip-credentials",
            login=c.login,
            password=c.password,
            domain=c.domain,
            registrar=c.registrar,
        )
    )
    # The same account as a QR code: softphones that scan SIP URIs fill it in.
    await message.answer_photo(
        BufferedInputFile(sip_qr_png(c), filename="sip-account.png"), caption=tr("sip-qr")
    )


@routes.message(Command("dnd"), member=True)
async def dnd(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        on = chatops.one_word(command.args, ("on", "off")) == "on"
    except Usage:
        await message.answer(tr("usage", usage="/dnd on|off"))
        return
    await cabinet.set_dnd(actor, on)
    await message.answer(tr("dnd-set", on="yes" if on else "no"))


@routes.message(Command("forward"), member=True)
async def forward(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        mode, mobile = chatops.word_and_optional(command.args, ("off", "always", "unregistered"))
    except Usage:
        await message.answer(tr("usage", usage="/forward off|always|unregistered [+79161234567]"))
        return
    target = await cabinet.set_forward(actor, mode, mobile)
    await message.answer(tr("forward-set", mode=mode, mobile=target or ""))


@routes.message(Command("my_calls", "my_missed"), member=True)
async def my_calls(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
) -> None:
    f = CallFilter(missed=command.command.endswith("missed"))
    await send_first_page(message, actor, cabinet, tr, state, f, mine=True)


AUDIT_PAGE = 10


def _value(value: object) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False)


async def audit_page(
    actor: Actor, cabinet: Cabinet, tr: Translator, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    entries = await cabinet.audit_log(actor, AUDIT_PAGE + 1, page * AUDIT_PAGE)
    if not entries:
        return tr("audit-empty"), None
    lines = [tr("audit-title", zone=tr.zone())]
    lines += [
        tr(
            "audit-line",
            when=tr.when(e.at, "%m-%d %H:%M", named=False),
            who=e.actor_name or str(e.actor_tg_id or "—"),
            action=e.action,
            target=e.target,
            old=_value(e.old_value),
            new=_value(e.new_value),
        )
        for e in entries[:AUDIT_PAGE]
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=f"audit:{page - 1}"))
    if len(entries) > AUDIT_PAGE:
        nav.append(InlineKeyboardButton(text="▶", callback_data=f"audit:{page + 1}"))
    markup = InlineKeyboardMarkup(inline_keyboard=[nav]) if nav else None
    return "\n".join(lines)[:TELEGRAM_LIMIT], markup


@routes.message(Command("audit"), member=True)
async def audit(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    text, markup = await audit_page(actor, cabinet, tr, 0)
    await message.answer(text, reply_markup=markup)


@routes.callback_query(F.data.startswith("audit:"), member=True)
async def audit_turn(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    page = int(query.data[6:]) if query.data[6:].isdigit() else 0
    text, markup = await audit_page(actor, cabinet, tr, page)
    await query.message.edit_text(text, reply_markup=markup)
