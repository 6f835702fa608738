"""Employee self-service: SIP credentials (private chat only), DND, forwarding, my calls;
company calls and the audit log for the roles that may see them."""

from __future__ import annotations

import io

import qrcode
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from qrcode.image.pure import PyPNGImage

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.provisioning import CallSummary, SipCredentials

routes = Routes("selfservice")


def sip_qr_png(c: SipCredentials) -> bytes:
    uri = f"sip:{c.login}:{c.password}@{c.domain};proxy={c.registrar};transport=udp"
    out = io.BytesIO()
    qrcode.make(uri, image_factory=PyPNGImage).save(out)
    return out.getvalue()


@routes.message(Command("my_sip"))
async def my_sip(message: Message, actor: Actor | None, cabinet: Cabinet, tr: Translator) -> None:
    if actor is None:
        await message.answer(tr("not-member"))
        return
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


@routes.message(Command("dnd"))
async def dnd(
    message: Message, command: CommandObject, actor: Actor | None, cabinet: Cabinet, tr: Translator
) -> None:
    if actor is None:
        await message.answer(tr("not-member"))
        return
    try:
        on = chatops.one_word(command.args, ("on", "off")) == "on"
    except Usage:
        await message.answer(tr("usage", usage="/dnd on|off"))
        return
    await cabinet.set_dnd(actor, on)
    await message.answer(tr("dnd-set", on="yes" if on else "no"))


@routes.message(Command("forward"))
async def forward(
    message: Message, command: CommandObject, actor: Actor | None, cabinet: Cabinet, tr: Translator
) -> None:
    if actor is None:
        await message.answer(tr("not-member"))
        return
    try:
        mode, mobile = chatops.word_and_optional(command.args, ("off", "always", "unregistered"))
    except Usage:
        await message.answer(tr("usage", usage="/forward off|always|unregistered [+79161234567]"))
        return
    target = await cabinet.set_forward(actor, mode, mobile)
    await message.answer(tr("forward-set", mode=mode, mobile=target or ""))


def call_lines(tr: Translator, calls: list[CallSummary]) -> str:
    if not calls:
        return tr("calls-empty")
    lines = [tr("calls-title")]
    lines += [
        tr(
            "call-line",
            when=c.started_at.strftime("%m-%d %H:%M"),
            direction=c.direction,
            caller=c.caller,
            callee=c.callee,
            result=c.result,
            talk=c.talk_seconds,
        )
        for c in calls
    ]
    return "\n".join(lines)


@routes.message(Command("my_calls", "my_missed"))
async def calls(
    message: Message, command: CommandObject, actor: Actor | None, cabinet: Cabinet, tr: Translator
) -> None:
    if actor is None:
        await message.answer(tr("not-member"))
        return
    missed = command.command.endswith("missed")
    await message.answer(call_lines(tr, await cabinet.calls(actor, mine=True, missed_only=missed)))


@routes.message(Command("audit"))
async def audit(message: Message, actor: Actor | None, cabinet: Cabinet, tr: Translator) -> None:
    if actor is None:
        await message.answer(tr("not-member"))
        return
    entries = await cabinet.audit_log(actor)
    if not entries:
        await message.answer(tr("audit-empty"))
        return
    lines = [tr("audit-title")]
    lines += [
        tr(
            "audit-line",
            when=e.at.strftime("%m-%d %H:%M"),
            who=str(e.actor_tg_id or "—"),
            action=e.action,
            target=e.target,
        )
        for e in entries
    ]
    for part in chunks(lines):
        await message.answer(part)
