"""Call recording from the bot: the policy (/recording, /record_rule), storage
(/storage), the list with filters (/recordings) and listening (a voice message)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.handlers import forms
from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.cabinet import Actor, Cabinet
from pbx.services.history import CallFilter, parse_filter
from pbx.services.recordings import RecordingInfo, RecordingPolicyView, StorageView

routes = Routes("recordings")

RULE_USAGE = "/record_rule add|remove employee EXT [in|out|both] | group NAME | number NUMBER"
GB = 1024**3


def _yes(tr: Translator, value: bool) -> str:
    return tr("yes") if value else tr("no")


def render_policy(tr: Translator, p: RecordingPolicyView) -> str:
    return tr(
        "recording-card",
        mode=tr(f"recording-mode-{p.mode}"),
        notice=_yes(tr, p.notice),
        employees=_yes(tr, p.employee_access),
        rules=", ".join(p.rules) if p.rules else tr("recording-no-rules"),
    )


def render_storage(tr: Translator, s: StorageView) -> str:
    u = s.usage
    lines = [
        tr(
            "storage-card",
            used=f"{u.bytes / GB:.1f}",
            quota=f"{u.quota_bytes / GB:.1f}",
            packs=u.packs,
            files=u.files,
            hours=f"{u.seconds / 3600:.1f}",
            auto=_yes(tr, u.auto_pack),
            days=u.retention_days,
        )
    ]
    if u.max_seconds is not None:
        lines.append(tr("storage-minutes", minutes=u.max_seconds // 60))
    for at, kind, count, size in s.events:
        what = tr(f"storage-event-{kind}", count=count, mb=f"{size / 1024**2:.1f}")
        lines.append(tr("storage-event", at=tr.when(at), what=what))
    return "\n".join(lines)


forms.settings_form(
    routes,
    "recording",
    "/recording [mode=all|selective|off notice=on|off employees=on|off]",
    lambda c, a, o: c.set_recording(a, o) if o else c.recording_policy(a),
    render_policy,
)


@routes.message(Command("record_rule"), member=True)
async def record_rule(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    if len(words) not in (3, 4) or words[0].lower() not in ("add", "remove"):
        await message.answer(tr("usage", usage=RULE_USAGE))
        return
    direction = words[3].lower() if len(words) == 4 else "both"
    view = await cabinet.set_recording_rule(
        actor, words[0].lower() == "add", words[1], words[2], direction
    )
    await message.answer(render_policy(tr, view))


forms.settings_form(
    routes,
    "storage",
    "/storage [packs=0..9 auto_pack=on|off retention=DAYS]",
    lambda c, a, o: c.set_storage(a, o) if o else c.storage(a),
    render_storage,
)


def _render_list(
    tr: Translator, items: list[RecordingInfo], page: int, more: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not items:
        return tr("recordings-empty"), None
    lines = [tr("recordings-title", zone=tr.zone())]
    for n, r in enumerate(items, 1):
        lines.append(
            tr(
                "recording-line",
                n=n,
                when=tr.when(r.started_at, "%m-%d %H:%M", named=False),
                direction=r.direction,
                caller=r.caller,
                callee=r.callee,
                seconds=round(r.seconds),
            )
        )
    buttons = [
        InlineKeyboardButton(text=f"▶ {n}", callback_data=f"rec:{r.id}")
        for n, r in enumerate(items, 1)
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=f"recp:{page - 1}"))
    if more:
        nav.append(InlineKeyboardButton(text="▶▶", callback_data=f"recp:{page + 1}"))
    rows = [r for r in (buttons[:5], buttons[5:], nav) if r]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@routes.message(Command("recordings"), member=True)
async def recordings(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
) -> None:
    f = parse_filter(command.args)
    items, more = await cabinet.list_recordings(actor, f, 0)
    await state.update_data(recordings=f.to_dict())
    text, markup = _render_list(tr, items, 0, more)
    await message.answer(text, reply_markup=markup)


@routes.callback_query(F.data.startswith("recp:"), member=True)
async def recordings_page(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator, state: FSMContext
) -> None:
    raw = (query.data or "").removeprefix("recp:")
    if not raw.isdigit() or not isinstance(query.message, Message):
        await query.answer(tr("button-stale"))
        return
    await query.answer()
    f = CallFilter.from_dict((await state.get_data()).get("recordings", {}))
    items, more = await cabinet.list_recordings(actor, f, int(raw))
    text, markup = _render_list(tr, items, int(raw), more)
    await query.message.edit_text(text, reply_markup=markup)


@routes.callback_query(F.data.startswith("rec:"), member=True)
async def listen(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    raw = (query.data or "").removeprefix("rec:")
    if not raw.isdigit() or query.message is None:
        await query.answer(tr("button-stale"))
        return
    r = await cabinet.recording(actor, int(raw))
    await query.answer()
    await query.message.answer_voice(
        FSInputFile(r.path),
        caption=tr(
            "recording-caption",
            call=str(r.call_id),
            caller=r.caller,
            callee=r.callee,
            when=tr.when(r.started_at),
            seconds=round(r.seconds),
        ),
    )
