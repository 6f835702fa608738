"""Ring groups, IVR menus and queues (owner and admin), and "call back": chat-ops."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers import forms
from bot.i18n import Translator
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


show_groups = forms.listing(
    routes, "groups", lambda c, a: c.list_groups(a), group_text, "groups-empty"
)
forms.setter(
    routes,
    "group_set",
    "/group_set NAME algorithm=… interval=15 timeout=60 cyclic=on fallback=TARGET",
    lambda c, a, name, opts: c.set_group(a, name, opts),
    group_text,
)
forms.remover(routes, "group_del", lambda c, a, name: c.remove_group(a, name))
show_menus = forms.listing(routes, "menus", lambda c, a: c.list_menus(a), menu_text, "menus-empty")
forms.setter(
    routes,
    "menu_set",
    "/menu_set NAME prompt=AUDIO 1=TARGET 2=TARGET … timeout=5 repeats=2 "
    "on_timeout=TARGET on_invalid=TARGET ext=on",
    lambda c, a, name, opts: c.set_menu(a, name, opts),
    menu_text,
)
forms.remover(routes, "menu_del", lambda c, a, name: c.remove_menu(a, name))
show_queues = forms.listing(
    routes, "queues", lambda c, a: c.list_queues(a), queue_text, "queues-empty"
)
forms.setter(
    routes,
    "queue_set",
    "/queue_set NAME group=GROUP max_wait=300 ring=20 announce=30 callback=on fallback=TARGET",
    lambda c, a, name, opts: c.set_queue(a, name, opts),
    queue_text,
)
forms.remover(routes, "queue_del", lambda c, a, name: c.remove_queue(a, name))


CALL_BACK, RING_MOBILE = "cb:call:", "cb:mob:"


@routes.callback_query(F.data.startswith(CALL_BACK) | F.data.startswith(RING_MOBILE), member=True)
async def call_back(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    """The "call back" button of a missed-call alert: the PBX rings the employee's
    phone first (or, from the second button, their mobile), then the client."""
    data = query.data or ""
    to_mobile = data.startswith(RING_MOBILE)
    raw = data.removeprefix(RING_MOBILE if to_mobile else CALL_BACK)
    if not raw.isdigit():
        await query.answer(tr("button-stale"))
        return
    done = await cabinet.call_back(actor, int(raw), to_mobile)
    if done.placed:
        key = "calling-back-mobile" if to_mobile else "calling-back"
        await query.answer(tr(key, client=done.client, mobile=done.mobile or ""), show_alert=True)
        return
    # The phone is not registered: ringing it would do nothing. Say why, offer the mobile.
    await query.answer()
    markup = None
    if done.mobile:
        button = InlineKeyboardButton(
            text=tr("btn-ring-mobile", mobile=done.mobile), callback_data=f"{RING_MOBILE}{raw}"
        )
        markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    text = tr("call-back-unregistered", client=done.client, mobile=done.mobile or "none")
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)
