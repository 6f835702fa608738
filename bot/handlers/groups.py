"""Ring groups, IVR menus and queues (owner and admin), and "call back": chat-ops."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.queues import QueueInfo
from pbx.services.scenarios import GroupInfo, MenuInfo

routes = Routes("groups")


def group_text(tr: Translator, g: GroupInfo) -> str:
    levels: dict[int, list[str]] = {}
    for position, ext, name in g.members:
        levels.setdefault(position, []).append(f"{ext} {name}")
    members = "; ".join(" + ".join(level) for _, level in sorted(levels.items()))
    return tr(
        "group-card",
        name=g.name,
        algorithm=tr(f"algo-{g.algorithm}"),
        interval=str(g.interval),
        timeout=str(g.timeout),
        cyclic=tr("yes") if g.cyclic else tr("no"),
        fallback=g.fallback,
        members=members or "—",
    )


def menu_text(tr: Translator, m: MenuInfo) -> str:
    options = "\n".join(f"  {d} → {t}" for d, t in m.options.items()) or "  —"
    return tr(
        "menu-card",
        name=m.name,
        prompt=m.prompt or tr("default-prompt"),
        options=options,
        timeout=str(m.timeout),
        repeats=str(m.repeats),
        on_timeout=m.on_timeout,
        on_invalid=m.on_invalid,
        ext=tr("yes") if m.dial_by_ext else tr("no"),
    )


async def _answer_all(message: Message, parts: list[str]) -> None:
    for part in chunks(parts):
        await message.answer(part)


@routes.message(Command("groups"), member=True)
async def groups(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_groups(actor)
    if not rows:
        await message.answer(tr("groups-empty"))
        return
    await _answer_all(message, [group_text(tr, g) for g in rows])


@routes.message(Command("group_add"), member=True)
async def group_add(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if not 1 <= len(words) <= 2:
        await message.answer(tr("usage", usage="/group_add NAME [ALGORITHM]"))
        return
    g = await cabinet.add_group(actor, *words)
    await message.answer(group_text(tr, g))


@routes.message(Command("group_members"), member=True)
async def group_members(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) < 2:
        await message.answer(tr("usage", usage="/group_members NAME EXT [EXT,EXT …]"))
        return
    g = await cabinet.set_group_members(actor, words[0], words[1:])
    await message.answer(group_text(tr, g))


@routes.message(Command("group_set"), member=True)
async def group_set(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, opts = chatops.words_and_options(command.args)
        if len(words) != 1 or not opts:
            raise Usage(command.args or "")
    except Usage:
        await message.answer(
            tr(
                "usage",
                usage="/group_set NAME algorithm=… interval=15 timeout=60 cyclic=on fallback=TARGET",
            )
        )
        return
    g = await cabinet.set_group(actor, words[0], opts)
    await message.answer(group_text(tr, g))


@routes.message(Command("group_del"), member=True)
async def group_del(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        name = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/group_del NAME"))
        return
    await cabinet.remove_group(actor, name)
    await message.answer(tr("removed", name=name))


@routes.message(Command("menus"), member=True)
async def menus(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_menus(actor)
    if not rows:
        await message.answer(tr("menus-empty"))
        return
    await _answer_all(message, [menu_text(tr, m) for m in rows])


@routes.message(Command("menu_set"), member=True)
async def menu_set(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, opts = chatops.words_and_options(command.args)
        if len(words) != 1:
            raise Usage(command.args or "")
    except Usage:
        await message.answer(
            tr(
                "usage",
                usage="/menu_set NAME prompt=AUDIO 1=TARGET 2=TARGET … timeout=5 repeats=2 "
                "on_timeout=TARGET on_invalid=TARGET ext=on",
            )
        )
        return
    m = await cabinet.set_menu(actor, words[0], opts)
    await message.answer(menu_text(tr, m))


@routes.message(Command("menu_del"), member=True)
async def menu_del(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        name = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/menu_del NAME"))
        return
    await cabinet.remove_menu(actor, name)
    await message.answer(tr("removed", name=name))


def queue_text(tr: Translator, q: QueueInfo) -> str:
    return tr(
        "queue-card",
        name=q.name,
        group=q.group,
        max_wait=str(q.max_wait),
        ring=str(q.agent_ring),
        announce=str(q.announce),
        callback=tr("yes") if q.callback else tr("no"),
        fallback=q.fallback,
        waiting="?" if q.waiting is None else str(q.waiting),
    )


@routes.message(Command("queues"), member=True)
async def queues(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_queues(actor)
    if not rows:
        await message.answer(tr("queues-empty"))
        return
    await _answer_all(message, [queue_text(tr, q) for q in rows])


@routes.message(Command("queue_set"), member=True)
async def queue_set(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, opts = chatops.words_and_options(command.args)
        if len(words) != 1 or not opts:
            raise Usage(command.args or "")
    except Usage:
        await message.answer(
            tr(
                "usage",
                usage="/queue_set NAME group=GROUP max_wait=300 ring=20 announce=30 "
                "callback=on fallback=TARGET",
            )
        )
        return
    q = await cabinet.set_queue(actor, words[0], opts)
    await message.answer(queue_text(tr, q))


@routes.message(Command("queue_del"), member=True)
async def queue_del(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        name = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/queue_del NAME"))
        return
    await cabinet.remove_queue(actor, name)
    await message.answer(tr("removed", name=name))


@routes.callback_query(F.data.startswith("cb:call:"), member=True)
async def call_back(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    """The "call back" button of a missed-call alert: the PBX rings the employee's
    phone first, then the client from the company number."""
    raw = (query.data or "").removeprefix("cb:call:")
    if not raw.isdigit():
        await query.answer(tr("button-stale"))
        return
    client = await cabinet.call_back(actor, int(raw))
    await query.answer(tr("calling-back", client=client), show_alert=True)
