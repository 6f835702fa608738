"""The shapes most configuration commands share, declared once: list things, change a
named thing with key=value options, remove a named thing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet

Render = Callable[[Translator, Any], str]


def listing(
    routes: Routes,
    command: str,
    fetch: Callable[[Cabinet, Actor], Awaitable[list[Any]]],
    render: Render,
    empty_key: str,
) -> Callable[[Message, Actor, Cabinet, Translator], Awaitable[None]]:
    """`/things`: one card per thing, or how to create the first one (the handler is
    returned so that a menu button can run it too)."""

    async def handler(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
        rows = await fetch(cabinet, actor)
        if not rows:
            await message.answer(tr(empty_key))
            return
        for part in chunks([render(tr, row) for row in rows]):
            await message.answer(part)

    routes.message(Command(command), member=True)(handler)
    return handler


def setter(
    routes: Routes,
    command: str,
    usage: str,
    change: Callable[[Cabinet, Actor, str, dict[str, str]], Awaitable[Any]],
    render: Render,
    show: Callable[[Cabinet, Actor, str], Awaitable[Any]] | None = None,
) -> None:
    """`/thing_set NAME key=value …` (without options: `show`, if given)."""

    async def handler(
        message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
    ) -> None:
        try:
            words, opts = chatops.words_and_options(command.args)
            if len(words) != 1 or (not opts and show is None):
                raise Usage(command.args or "")
        except Usage:
            await message.answer(tr("usage", usage=usage))
            return
        if opts or show is None:
            thing = await change(cabinet, actor, words[0], opts)
        else:
            thing = await show(cabinet, actor, words[0])
        await message.answer(render(tr, thing))

    routes.message(Command(command), member=True)(handler)


def named(
    routes: Routes,
    command: str,
    act: Callable[[Cabinet, Actor, str], Awaitable[Any]],
    reply: Callable[[Translator, Any, str], str],
) -> None:
    """`/command NAME`: act on one named thing and say what became of it."""

    async def handler(
        message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
    ) -> None:
        try:
            name = chatops.one_word(command.args)
        except Usage:
            await message.answer(tr("usage", usage=f"/{command.command} NAME"))
            return
        await message.answer(reply(tr, await act(cabinet, actor, name), name))

    routes.message(Command(command), member=True)(handler)


def remover(
    routes: Routes, command: str, remove: Callable[[Cabinet, Actor, str], Awaitable[None]]
) -> None:
    """`/thing_del NAME`."""
    named(routes, command, remove, lambda tr, _, name: tr("removed", name=name))


def words(
    routes: Routes,
    command: str,
    usage: str,
    fits: Callable[[list[str]], bool],
    act: Callable[[Cabinet, Actor, list[str]], Awaitable[Any]],
    render: Render,
) -> None:
    """`/command WORD …` with a fixed shape of plain words."""

    async def handler(
        message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
    ) -> None:
        args = (command.args or "").split()
        if not fits(args):
            await message.answer(tr("usage", usage=usage))
            return
        await message.answer(render(tr, await act(cabinet, actor, args)))

    routes.message(Command(command), member=True)(handler)


def settings_form(
    routes: Routes,
    command: str,
    usage: str,
    act: Callable[[Cabinet, Actor, dict[str, str]], Awaitable[Any]],
    render: Render,
) -> None:
    """`/command [key=value …]`: company-wide settings, shown (no options) or changed."""

    async def handler(
        message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
    ) -> None:
        try:
            found, opts = chatops.words_and_options(command.args, min_words=0)
            if found:
                raise Usage(command.args or "")
        except Usage:
            await message.answer(tr("usage", usage=usage))
            return
        await message.answer(render(tr, await act(cabinet, actor, opts)))

    routes.message(Command(command), member=True)(handler)
