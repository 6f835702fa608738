"""Carrier trunks and company numbers (owner and admin): chat-ops commands."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet

routes = Routes("numbers")


@routes.message(Command("trunks"), member=True)
async def trunks(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_trunks(actor)
    if not rows:
        await message.answer(tr("trunks-empty"))
        return
    lines = [tr("trunks-title")]
    for trunk, state in rows:
        if trunk.auth_mode == "ip":
            status = tr("trunk-ip", ips=", ".join(trunk.ip_addresses))
        elif state is None:
            status = tr("trunk-pending")
        else:
            status = tr("trunk-state", ok="yes" if state[0] else "no", status=state[1])
        lines.append(
            tr(
                "trunk-line",
                id=str(trunk.id),
                name=trunk.name,
                host=f"{trunk.host}:{trunk.port}",
                status=status,
            )
        )
    for part in chunks(lines):
        await message.answer(part)


@routes.message(Command("trunk_add"), member=True)
async def trunk_add(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        args = chatops.trunk_add(command.args)
    except Usage:
        await message.answer(
            tr(
                "usage",
                usage="/trunk_add NAME HOST[:PORT] LOGIN PASSWORD | /trunk_add NAME HOST[:PORT] ip [IP …]",
            )
        )
        return
    if args.password:
        # The carrier's password should not stay in the chat history.
        with contextlib.suppress(TelegramBadRequest):
            await message.delete()
    if args.ips:
        trunk = await cabinet.add_trunk(
            actor, args.name, args.host, args.port, auth_mode="ip", ip_addresses=args.ips
        )
    else:
        trunk = await cabinet.add_trunk(
            actor,
            args.name,
            args.host,
            args.port,
            auth_mode="register",
            username=args.username,
            password=args.password,
        )
    await message.answer(tr("trunk-added", id=str(trunk.id), name=trunk.name))


@routes.message(Command("numbers"), member=True)
async def numbers(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_numbers(actor)
    if not rows:
        await message.answer(tr("numbers-empty"))
        return
    lines = [tr("numbers-title")]
    lines += [
        tr("number-line", number=n.number, ext=n.target_ext or "—", trunk=str(n.trunk_id))
        for n in rows
    ]
    for part in chunks(lines):
        await message.answer(part)


@routes.message(Command("number_add"), member=True)
async def number_add(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        number, trunk_id, ext = chatops.number_add(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/number_add +74951234567 TRUNK_ID EXT"))
        return
    n = await cabinet.add_number(actor, number, trunk_id, ext)
    await message.answer(tr("number-added", number=n.number, ext=n.target_ext or ext))


@routes.message(Command("number_route"), member=True)
async def number_route(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) != 2:
        await message.answer(tr("usage", usage="/number_route +74951234567 EXT"))
        return
    n = await cabinet.route_number(actor, words[0], words[1])
    await message.answer(tr("number-added", number=n.number, ext=n.target_ext or words[1]))
