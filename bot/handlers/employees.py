"""Employees for owners and admins (and viewing for supervisors): chat-ops commands."""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet, Role

routes = Routes("employees")
INVITE_ROLES = ("employee", "supervisor", "admin")


@routes.message(Command("employees"), member=True)
async def employees(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    people = await cabinet.list_employees(actor)
    if not people:
        await message.answer(tr("employees-empty"))
        return
    lines = [tr("employees-title", count=len(people))]
    lines += [
        tr(
            "employee-line",
            ext=e.ext or "—",
            name=e.name,
            online="yes" if e.registered else "no",
            oncall="yes" if e.on_call else "no",
            enabled="yes" if e.enabled else "no",
        )
        for e in people
    ]
    for part in chunks(lines):
        await message.answer(part)


@routes.message(Command("employee_add"), member=True)
async def employee_add(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        args = chatops.employee_add(command.args)
    except Usage:
        await message.answer(
            tr("usage", usage="/employee_add Ivan Petrov [105] [ivan@example.com] [+79161234567]")
        )
        return
    e = await cabinet.add_employee(actor, args.name, args.ext, args.email, args.mobile)
    await message.answer(tr("employee-added", name=e.name, ext=e.ext or ""))


@routes.message(Command("employee_remove"), member=True)
async def employee_remove(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        ext = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/employee_remove 105"))
        return
    e = await cabinet.remove_employee(actor, ext)
    await message.answer(tr("employee-removed", name=e.name, ext=e.ext or ext))


@routes.message(Command("employee_edit"), member=True)
async def employee_edit(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split(maxsplit=2)
    if len(words) != 3 or words[1].lower() not in ("name", "email", "mobile"):
        await message.answer(tr("usage", usage="/employee_edit 105 name|email|mobile VALUE"))
        return
    e = await cabinet.edit_employee(actor, words[0], words[1].lower(), words[2])
    await message.answer(
        tr(
            "employee-edited",
            ext=e.ext or words[0],
            name=e.name,
            email=e.email or "—",
            mobile=e.mobile or "—",
        )
    )


@routes.message(Command("employee_disable", "employee_enable"), member=True)
async def employee_enable(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    on = command.command == "employee_enable"
    try:
        ext = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage=f"/{command.command} 105"))
        return
    e = await cabinet.set_enabled(actor, ext, on)
    await message.answer(tr("employee-enabled", ext=e.ext or ext, on="yes" if on else "no"))


@routes.message(Command("invite"), member=True)
async def invite(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    bot: Bot,
) -> None:
    try:
        ext, role = chatops.word_and_optional(command.args)
        if role is not None and role.lower() not in INVITE_ROLES:
            raise Usage(role)
    except Usage:
        await message.answer(tr("usage", usage="/invite 105 [employee|supervisor|admin]"))
        return
    inv = await cabinet.invite(actor, ext, Role((role or "employee").lower()))
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={inv.token}"
    await message.answer(
        tr(
            "invite-link",
            name=inv.employee.name,
            ext=inv.employee.ext or ext,
            role=tr(f"role-{inv.role}"),
            until=tr.when(inv.expires_at),
            link=link,
        )
    )
