"""Schedules, a number's scenario, alert settings and voicemail: chat-ops commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.handlers import forms
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


forms.words(
    routes,
    "hours",
    "/hours NAME mon-fri 09:00-18:00",
    lambda w: len(w) == 3,
    lambda c, a, w: c.set_hours(a, w[0], w[1], w[2]),
    schedule_text,
)
forms.words(
    routes,
    "holiday",
    "/holiday NAME YYYY-MM-DD [off]",
    lambda w: len(w) == 2 or (len(w) == 3 and w[2].lower() == "off"),
    lambda c, a, w: c.set_holiday(a, w[0], w[1], on=len(w) == 2),
    schedule_text,
)
forms.words(
    routes,
    "special_day",
    "/special_day NAME YYYY-MM-DD 10:00-15:00|auto",
    lambda w: len(w) == 3,
    lambda c, a, w: c.set_special(a, w[0], w[1], w[2]),
    schedule_text,
)


def _override(mode: str | None) -> Callable[[Cabinet, Actor, str], Awaitable[ScheduleInfo]]:
    async def act(cabinet: Cabinet, actor: Actor, name: str) -> ScheduleInfo:
        return await cabinet.set_override(actor, name, mode)

    return act


for _command, _mode in (("open_now", "open"), ("closed_now", "closed"), ("schedule_auto", None)):
    forms.named(routes, _command, _override(_mode), lambda tr, s, _name: schedule_text(tr, s))
show_schedules = forms.listing(
    routes, "schedules", lambda c, a: c.list_schedules(a), schedule_text, "schedules-empty"
)
forms.remover(routes, "schedule_del", lambda c, a, name: c.remove_schedule(a, name))
forms.setter(
    routes,
    "scenario",
    "/scenario NUMBER [open=TARGET closed=TARGET fallback=TARGET "
    "schedule=NAME|none greeting=AUDIO|none]",
    lambda c, a, number, opts: c.set_scenario(a, number, opts),
    scenario_text,
    show=lambda c, a, number: c.scenario_of(a, number),
)


@routes.message(Command("scenarios"), member=True)
async def scenarios(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    """Every company number with its scenario."""
    numbers = await cabinet.list_numbers(actor)
    if not numbers:
        await message.answer(tr("numbers-empty"))
        return
    cards = [scenario_text(tr, await cabinet.scenario_of(actor, n.number)) for n in numbers]
    for part in chunks(cards):
        await message.answer(part)


forms.settings_form(
    routes,
    "alerts",
    "/alerts [owner=on|off email=on|off sms=on|off]",
    lambda c, a, o: c.set_alerts(a, o),
    lambda tr, state: tr(
        "alerts-card", **{k: tr("yes") if v else tr("no") for k, v in state.items()}
    ),
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
                at=tr.when(vm.created_at),
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
