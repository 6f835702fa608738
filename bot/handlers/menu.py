"""`/menu`: the same actions as the commands, as buttons, chosen by role."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers import (
    billing,
    common,
    employees,
    groups,
    history,
    live,
    recordings,
    scenario,
    selfservice,
    stats,
)
from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet, Perm
from pbx.services.history import CallFilter

routes = Routes("menu")


def menu_markup(actor: Actor, tr: Translator) -> InlineKeyboardMarkup:
    items: list[tuple[str, str]] = []
    if actor.can(Perm.VIEW_EMPLOYEES):
        items += [
            (tr("menu-employees"), "menu:employees"),
            (tr("menu-calls"), "menu:calls"),
            (tr("menu-missed"), "menu:missed"),
            (tr("menu-recordings"), "menu:recordings"),
        ]
    if actor.can(Perm.MANAGE_NUMBERS):
        items += [
            (tr("menu-scenarios"), "menu:scenarios"),
            (tr("menu-groups"), "menu:groups"),
            (tr("menu-menus"), "menu:menus"),
            (tr("menu-queues"), "menu:queues"),
            (tr("menu-schedules"), "menu:schedules"),
        ]
    items.append((tr("menu-voicemail"), "menu:voicemail"))
    items.append((tr("menu-stats"), "menu:stats"))
    items.append((tr("menu-now"), "menu:now"))
    if actor.can(Perm.MANAGE_EMPLOYEES):
        items.append((tr("menu-plan"), "menu:plan"))
    if actor.employee_id is not None:
        items += [
            (tr("menu-my-calls"), "menu:my_calls"),
            (tr("menu-my-sip"), "menu:my_sip"),
            (tr("menu-dnd-on"), "menu:dnd_on"),
            (tr("menu-dnd-off"), "menu:dnd_off"),
        ]
    items.append((tr("menu-help"), "menu:help"))
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows
        ]
    )


@routes.message(Command("menu"), member=True)
async def menu(message: Message, actor: Actor, tr: Translator) -> None:
    await message.answer(tr("menu-title"), reply_markup=menu_markup(actor, tr))


@routes.callback_query(F.data.startswith("menu:"), member=True)
async def pressed(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator, state: FSMContext
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message) or query.data is None:
        return
    action = query.data[5:]
    # Each button runs the command's own handler: one code path, one set of checks.
    if action == "plan":
        await billing.plan(message, actor, cabinet, tr)
    elif action == "employees":
        await employees.employees(message, actor, cabinet, tr)
    elif action in ("calls", "missed"):
        await history.send_first_page(
            message, actor, cabinet, tr, state, CallFilter(missed=action == "missed")
        )
    elif action == "my_calls":
        await history.send_first_page(message, actor, cabinet, tr, state, CallFilter(), mine=True)
    elif action == "my_sip":
        await selfservice.my_sip(message, actor, cabinet, tr)
    elif action in ("dnd_on", "dnd_off"):
        on = action == "dnd_on"
        await cabinet.set_dnd(actor, on)
        await message.answer(tr("dnd-set", on="yes" if on else "no"))
    elif action == "help":
        await common.help_(message, actor, tr)
    elif action == "now":
        await live.now(message, actor, cabinet, tr)
    elif action == "stats":
        await stats.stats(message, CommandObject(command="stats"), actor, cabinet, tr)
    elif action == "recordings":
        await recordings.recordings(
            message, CommandObject(command="recordings"), actor, cabinet, tr, state
        )
    elif action in SHOW:
        await SHOW[action](message, actor, cabinet, tr)


SHOW = {
    "scenarios": scenario.scenarios,
    "groups": groups.show_groups,
    "menus": groups.show_menus,
    "queues": groups.show_queues,
    "schedules": scenario.show_schedules,
    "voicemail": scenario.voicemail,
}
