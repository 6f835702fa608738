"""Schedules, a number's scenario, alert settings and voicemail: chat-ops commands."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot import chatops
from bot.chatops import Usage
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.scenarios import NumberScenario
from pbx.services.schedules import ScheduleInfo

routes = Routes("scenario")


def schedule_text(tr: Translator, s: ScheduleInfo) -> str:
    days = "\n".join(
        f"  {tr(f'day-{d}')}: {h if h != 'closed' else tr('closed')}" for d, h in s.weekly.items()
    )
    extra = [tr("holiday-line", day=d.isoformat()) for d in s.holidays]
    extra += [tr("special-line", day=d.isoformat(), hours=h) for d, h in s.special.items()]
    state = tr("open-now") if s.open_now else tr("closed-now")
    if s.override:
        state += " " + (tr("override-open") if s.override == "open" else tr("override-closed"))
    return tr("schedule-card", name=s.name, days=days, extra="\n".join(extra) or "—", state=state)


def scenario_text(tr: Translator, sc: NumberScenario) -> str:
    return tr(
        "scenario-card",
        number=sc.number,
        greeting=sc.greeting or "—",
        schedule=sc.schedule or "24/7",
        open=sc.open_target,
        closed=sc.closed_target,
        fallback=sc.fallback,
    )


async def _schedule_cmd(
    message: Message, cabinet: Cabinet, actor: Actor, tr: Translator, args: str | None, mode: str
) -> None:
    try:
        name = chatops.one_word(args)
    except Usage:
        command = {"open": "open_now", "closed": "closed_now"}.get(mode, "schedule_auto")
        await message.answer(tr("usage", usage=f"/{command} NAME"))
        return
    s = await cabinet.set_override(actor, name, None if mode == "auto" else mode)
    await message.answer(schedule_text(tr, s))


@routes.message(Command("schedules"), member=True)
async def schedules(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_schedules(actor)
    if not rows:
        await message.answer(tr("schedules-empty"))
        return
    for part in chunks([schedule_text(tr, s) for s in rows]):
        await message.answer(part)


@routes.message(Command("hours"), member=True)
async def hours(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) != 3:
        await message.answer(tr("usage", usage="/hours NAME mon-fri 09:00-18:00"))
        return
    s = await cabinet.set_hours(actor, *words)
    await message.answer(schedule_text(tr, s))


@routes.message(Command("holiday"), member=True)
async def holiday(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) not in (2, 3) or (len(words) == 3 and words[2].lower() != "off"):
        await message.answer(tr("usage", usage="/holiday NAME YYYY-MM-DD [off]"))
        return
    s = await cabinet.set_holiday(actor, words[0], words[1], on=len(words) == 2)
    await message.answer(schedule_text(tr, s))


@routes.message(Command("special_day"), member=True)
async def special_day(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) != 3:
        await message.answer(tr("usage", usage="/special_day NAME YYYY-MM-DD 10:00-15:00|auto"))
        return
    s = await cabinet.set_special(actor, *words)
    await message.answer(schedule_text(tr, s))


@routes.message(Command("open_now"), member=True)
async def open_now(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await _schedule_cmd(message, cabinet, actor, tr, command.args, "open")


@routes.message(Command("closed_now"), member=True)
async def closed_now(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await _schedule_cmd(message, cabinet, actor, tr, command.args, "closed")


@routes.message(Command("schedule_auto"), member=True)
async def schedule_auto(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await _schedule_cmd(message, cabinet, actor, tr, command.args, "auto")


@routes.message(Command("schedule_del"), member=True)
async def schedule_del(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        name = chatops.one_word(command.args)
    except Usage:
        await message.answer(tr("usage", usage="/schedule_del NAME"))
        return
    await cabinet.remove_schedule(actor, name)
    await message.answer(tr("removed", name=name))


@routes.message(Command("scenario"), member=True)
async def scenario(
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
                usage="/scenario NUMBER [open=TARGET closed=TARGET fallback=TARGET "
                "schedule=NAME|none greeting=AUDIO|none]",
            )
        )
        return
    if opts:
        sc = await cabinet.set_scenario(actor, words[0], opts)
    else:
        sc = await cabinet.scenario_of(actor, words[0])
    await message.answer(scenario_text(tr, sc))


@routes.message(Command("alerts"), member=True)
async def alerts(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, opts = chatops.words_and_options(command.args, min_words=0)
        if words:
            raise Usage(command.args or "")
    except Usage:
        await message.answer(tr("usage", usage="/alerts [owner=on|off email=on|off sms=on|off]"))
        return
    state = await cabinet.set_alerts(actor, opts)
    await message.answer(
        tr("alerts-card", **{k: tr("yes") if v else tr("no") for k, v in state.items()})
    )


@routes.message(Command("voicemail"), member=True)
async def voicemail(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    rows = await cabinet.list_voicemails(actor)
    if not rows:
        await message.answer(tr("voicemail-empty"))
        return
    lines = [tr("voicemail-title")]
    buttons = []
    for vm in rows:
        mark = "" if vm.listened else "● "
        lines.append(
            tr(
                "voicemail-line",
                mark=mark,
                id=str(vm.id),
                caller=vm.caller,
                box=vm.box,
                at=vm.created_at.strftime("%Y-%m-%d %H:%M"),
                duration=str(vm.duration_s),
            )
        )
        buttons.append(
            [InlineKeyboardButton(text=f"▶ {vm.id} {vm.caller}", callback_data=f"vm:{vm.id}")]
        )
    await message.answer(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
    )


@routes.callback_query(F.data.startswith("vm:"), member=True)
async def voicemail_play(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    raw = (query.data or "").removeprefix("vm:")
    if not raw.isdigit() or query.message is None:
        await query.answer(tr("button-stale"))
        return
    vm = await cabinet.listen(actor, int(raw))
    await query.answer()
    await query.message.answer_voice(
        FSInputFile(vm.path),
        caption=tr("voicemail-caption", caller=vm.caller, duration=str(vm.duration_s)),
    )
