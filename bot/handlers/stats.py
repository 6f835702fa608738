"""Call statistics: `/stats [period]` with buttons for charts, the rating and exports;
per employee, ring group and company number. Owners and admins see the company,
supervisors their groups, employees themselves (`pbx.services.access`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.services import charts, stats_export
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.stats import EmployeeStats, GroupStats, Period, Stats, parse_period, rating

routes = Routes("stats")

EMPLOYEE_USAGE = "/stats_employee EXT [today|yesterday|week|month|YYYY-MM-DD..YYYY-MM-DD]"
BUTTONS = (
    ("hour", "stats-btn-hour"),
    ("day", "stats-btn-day"),
    ("rating", "stats-btn-rating"),
    ("csv", "stats-btn-csv"),
    ("xlsx", "stats-btn-xlsx"),
)


def duration(seconds: float) -> str:
    """1:02:03 or 2:03."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _secs(tr: Translator, value: float | None) -> str:
    return tr("stats-none") if value is None else tr("stats-seconds", n=f"{value:.1f}")


def _when(tr: Translator, period: Period) -> dict[str, str]:
    start, end = period.bounds(datetime.now(UTC))
    return {
        "period": tr("stats-period", period=period.label),
        "start": start.date().isoformat(),
        "end": (end - timedelta(days=1)).date().isoformat(),
    }


def _employee_args(e: EmployeeStats) -> dict[str, str | int]:
    return {
        "ext": e.ext or "—",
        "name": e.name,
        "received": e.received,
        "answered": e.answered,
        "missed": e.missed,
        "made": e.made,
        "talk": duration(e.talk_seconds),
        "avg_talk": duration(e.avg_talk),
    }


def _keyboard(tr: Translator, period: Period) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=tr(key), callback_data=f"stats:{what}:{period.label}")
        for what, key in BUTTONS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:3], buttons[3:]])


@routes.message(Command("stats"), member=True)
async def stats(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    period = parse_period(command.args)
    service = Stats(cabinet.pool, cabinet.catalogue)
    t = await service.totals(actor, period)
    lines = [
        tr("stats-title", **_when(tr, period)),
        tr(
            "stats-totals",
            calls=t.calls,
            inbound=t.inbound,
            outbound=t.outbound,
            internal=t.internal,
            answered=t.answered,
            missed=t.missed,
            talk=duration(t.talk_seconds),
            answer=_secs(tr, t.avg_answer),
        ),
        "",
        tr("stats-employees-title"),
    ]
    people = await service.employees(actor, period)
    lines += [
        tr("stats-employee-line", **_employee_args(e), answer=_secs(tr, e.avg_answer))
        for e in people
    ] or [tr("stats-no-employees")]
    parts = chunks(lines)
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=_keyboard(tr, period))


@routes.message(Command("stats_employee"), member=True)
async def stats_employee(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split(maxsplit=1)
    if not words:
        await message.answer(tr("usage", usage=EMPLOYEE_USAGE))
        return
    period = parse_period(words[1] if len(words) > 1 else None)
    e = await Stats(cabinet.pool, cabinet.catalogue).employee(actor, words[0], period)
    await message.answer(
        tr(
            "stats-employee-card",
            **_when(tr, period),
            **_employee_args(e),
            answer=_secs(tr, e.avg_answer),
        )
    )


def _group_lines(tr: Translator, key: str, rows: list[GroupStats]) -> list[str]:
    return [
        tr(
            key,
            name=g.name,
            calls=g.calls,
            inbound=g.inbound,
            outbound=g.outbound,
            answered=g.answered,
            missed=g.missed,
            talk=duration(g.talk_seconds),
            answer=_secs(tr, g.avg_answer),
        )
        for g in rows
    ]


@routes.message(Command("stats_groups", "stats_numbers"), member=True)
async def stats_groups(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    period = parse_period(command.args)
    service = Stats(cabinet.pool, cabinet.catalogue)
    kind = "groups" if command.command == "stats_groups" else "numbers"
    if kind == "groups":
        rows, line = await service.groups(actor, period), "stats-group-line"
    else:
        rows, line = await service.numbers(actor, period), "stats-number-line"
    if not rows:
        await message.answer(tr(f"stats-{kind}-empty"))
        return
    title = tr(f"stats-{kind}-title", **_when(tr, period))
    for part in chunks([title, *_group_lines(tr, line, rows)]):
        await message.answer(part)


@routes.callback_query(F.data.startswith("stats:"), member=True)
async def stats_button(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await query.answer()
    parts = (query.data or "").split(":", 2)
    if not isinstance(query.message, Message) or len(parts) != 3:
        return
    what, period = parts[1], parse_period(parts[2])
    message, service = query.message, Stats(cabinet.pool, cabinet.catalogue)
    name = tr("stats-period", period=period.label)
    stem = period.label.replace("..", "_")
    if what in ("hour", "day"):
        if what == "hour":
            buckets = await service.by_hour(actor, period)
        else:
            buckets = await service.by_day(actor, period)
        labels = charts.Labels(
            title=tr(f"stats-chart-{what}", period=name),
            answered=tr("stats-answered"),
            missed=tr("stats-missed"),
            other=tr("stats-other"),
            axis=tr(f"stats-axis-{what}"),
            calls=tr("stats-axis-calls"),
        )
        png = await asyncio.to_thread(charts.calls_chart, buckets, labels)
        await message.answer_photo(
            BufferedInputFile(png, filename=f"stats_{what}_{stem}.png"), caption=labels.title
        )
    elif what == "rating":
        ranked = rating(await service.employees(actor, period))
        title = tr("stats-rating-title", period=name)
        lines = [title] + [
            tr(
                "stats-rating-line",
                place=i,
                ext=e.ext or "—",
                name=e.name,
                answered=e.answered,
                talk=duration(e.talk_seconds),
            )
            for i, e in enumerate(ranked, 1)
        ]
        for part in chunks(lines):
            await message.answer(part)
        if ranked:
            png = await asyncio.to_thread(
                charts.rating_chart,
                ranked,
                tr("stats-rating-chart", period=name),
                tr("stats-answered"),
                tr("stats-talk-minutes"),
            )
            await message.answer_photo(BufferedInputFile(png, filename=f"rating_{stem}.png"))
    elif what in ("csv", "xlsx"):
        people = await service.employees(actor, period)
        days = await service.by_day(actor, period)
        if what == "xlsx":
            data = await asyncio.to_thread(stats_export.xlsx, people, days, period.label)
            await message.answer_document(
                BufferedInputFile(data, filename=f"stats_{stem}.xlsx"),
                caption=tr("stats-export-caption", period=name, what=tr("stats-export-both")),
            )
            return
        files = (
            ("employees", stats_export.employees_csv(people), "stats-export-employees"),
            ("days", stats_export.days_csv(days), "stats-export-days"),
        )
        for kind, data, what_key in files:
            await message.answer_document(
                BufferedInputFile(data, filename=f"stats_{kind}_{stem}.csv"),
                caption=tr("stats-export-caption", period=name, what=tr(what_key)),
            )
