"""The plan in the bot: `/plan` (the owner's view), `/plans`, `/plan_change`, `/option`,
`/buy`, `/release`, `/statement`; and the one-tap "buy" button a limit error offers."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.chatops import Usage, words_and_options
from bot.i18n import Translator, chunks
from bot.routes import Routes
from pbx.billing.account import Account
from pbx.billing.catalogue import Catalogue, Feature, LimitKind
from pbx.billing.limits import FeatureUnavailable, LimitReached
from pbx.billing.statement import Statement
from pbx.errors import PbxError
from pbx.services.billing import DowngradeBlocked, PlanView
from pbx.services.cabinet import Actor, Cabinet, Perm
from pbx.services.statement_export import amount, to_csv, to_pdf

routes = Routes("billing")
BUY = "buy:"
OPTION_ON = "opton:"  # the one-tap "switch it on" under a paid option's refusal
PLAN = "plan:"
STATEMENT = "stmt:"  # the statement alert's buttons (notifications.render.statement)


def render_statement(tr: Translator, s: Statement, catalogue: Catalogue) -> list[str]:
    lines = [tr("bill-statement-title", month=f"{s.month:%Y-%m}", through=f"{s.through:%d.%m}")]
    for ln in s.lines:
        name = ln.name_ru if tr.lang == "ru" else ln.name_en
        days = tr("bill-days", days=ln.days, of=s.days_in_month) if ln.days else ""
        qty = f" ×{ln.quantity}" if ln.quantity != 1 else ""
        lines.append(f"• {name}{qty} {days} — {amount(ln.net)}")
    if not s.lines:
        lines.append(tr("bill-nothing"))
    if s.changes:
        lines.append(tr("bill-history"))
        tz = ZoneInfo(s.timezone)
        for c in s.changes:
            lines.append(
                f"• {c.at.astimezone(tz):%d.%m %H:%M} — {change_text(tr, catalogue, c.item, c.quantity)}"
            )
    t = s.total
    lines.append(
        tr(
            "bill-total",
            net=amount(t.net),
            vat=amount(t.vat),
            gross=amount(t.gross),
            cur=catalogue.currency,
        )
    )
    return lines


def change_text(tr: Translator, catalogue: Catalogue, item: str, quantity: int) -> str:
    """One dated change in words: plan and option names from the catalogue."""
    kind, _, name = item.partition(":")
    if kind == "plan":
        plan = catalogue.plans.get(name)
        title = plan.title if plan else name
        return tr("bill-ch-plan", plan=title) if quantity else tr("bill-ch-plan-off", plan=title)
    if kind == "extra":
        return tr("bill-ch-extra", name=tr(f"limit-{name}"), packs=quantity)
    if kind == "option":
        info = catalogue.options.get(name)
        title = (info.ru if tr.lang == "ru" else info.en) if info else name
        return tr("bill-ch-option", option=title, on="on" if quantity else "off")
    return tr("bill-ch-block", reason=name) if quantity else tr("bill-ch-unblock")


def render_plan(tr: Translator, view: PlanView) -> list[str]:
    account, cur = view.account, view.account.catalogue.currency
    plan = account.plan
    if plan is None:
        return [tr("bill-no-plan")]
    lines = [tr("bill-plan", plan=plan.title, fee=amount(plan.monthly_fee), cur=cur)]
    if account.blocked:
        lines.append(tr("bill-blocked", reason=account.blocked))
    lines.append(tr("bill-limits"))
    for row in view.limits:
        name = tr(f"limit-{row.kind.value}")
        if row.allowance is None:
            lines.append(tr("bill-limit-unlimited", name=name))
            continue
        extra = (
            tr("bill-limit-extra", price=amount(row.extra), step=row.step, cur=cur)
            if row.extra is not None
            else tr("bill-limit-fixed")
        )
        # Kinds counted per call (channels, participants) or kept by time have no
        # "used" figure to show: the line gives the allowance alone.
        line = (
            tr("bill-limit-up-to", name=name, allowance=row.allowance, packs=row.packs)
            if row.used is None
            else tr(
                "bill-limit", name=name, used=row.used, allowance=row.allowance, packs=row.packs
            )
        )
        lines.append(f"{line} {extra}")
        if row.kind is LimitKind.SMS and row.extra is not None:
            lines.append(tr("bill-sms-renew", on="on" if view.sms_auto_renew else "off"))
    lines.append(tr("bill-options"))
    for o in view.options:
        name = o.name_ru if tr.lang == "ru" else o.name_en
        if o.status is Feature.INCLUDED:
            lines.append(tr("bill-option-included", name=name))
        elif o.status is Feature.PAID:
            key = "bill-option-on" if o.on else "bill-option-off"
            lines.append(tr(key, name=name, id=o.option, fee=amount(o.fee), cur=cur))
        else:
            lines.append(tr("bill-option-unavailable", name=name))
    if view.running is not None:
        lines.append("")
        lines.extend(render_statement(tr, view.running, account.catalogue))
    if view.last:
        lines.append(tr("bill-last"))
        for s in view.last:
            lines.append(f"• {s.month:%Y-%m}: {amount(s.gross)} {cur}")
    return lines


async def _send(
    message: Message, lines: list[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    parts = chunks(lines)
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=markup)


@routes.message(Command("plan"), member=True)
async def plan(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    view = await cabinet.plan_view(actor)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=tr("bill-see-plans"), callback_data=PLAN + "list")]
        ]
    )
    await _send(message, render_plan(tr, view), markup)


def _plans_text(tr: Translator, cabinet: Cabinet, current: str | None) -> list[str]:
    cat = cabinet.catalogue
    lines = [tr("bill-plans-title", title=cat.title)]
    for plan_id, p in cat.plans.items():
        mark = "✅" if plan_id == current else "▫️"
        limits = ", ".join(
            f"{tr(f'limit-{k.value}')} {v.included if v.included is not None else '∞'}"
            for k, v in list(p.limits.items())[:4]
        )
        lines.append(
            f"{mark} {p.title} ({plan_id}) — {amount(p.monthly_fee)} {cat.currency}: {limits}"
        )
    lines.append(tr("bill-plans-change"))
    return lines


@routes.message(Command("plans"), member=True)
async def plans(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    view = await cabinet.plan_view(actor)
    text = _plans_text(tr, cabinet, view.account.plan_id)
    await _send(message, text, _plan_buttons(cabinet, actor))


def _plan_buttons(cabinet: Cabinet, actor: Actor) -> InlineKeyboardMarkup | None:
    if not actor.can(Perm.MANAGE_BILLING):
        return None
    row = [
        InlineKeyboardButton(text=p.title, callback_data=f"{PLAN}set:{plan_id}")
        for plan_id, p in cabinet.catalogue.plans.items()
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row[i : i + 3] for i in range(0, len(row), 3)])


async def _change(
    target: Message, actor: Actor, cabinet: Cabinet, tr: Translator, plan_id: str
) -> None:
    try:
        account = await cabinet.change_plan(actor, plan_id)
    except DowngradeBlocked as exc:
        lines = [tr("err-plan_change_blocked", plan=exc.params["plan"])]
        lines += [tr(f"bill-problem-{kind}", **params) for kind, params in exc.problems]
        await target.answer("\n".join(lines))
        return
    assert account.plan is not None
    await target.answer(tr("bill-plan-changed", plan=account.plan.title))


@routes.message(Command("plan_change"), member=True)
async def plan_change(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, _ = words_and_options(command.args, 1)
    except Usage:
        await message.answer(tr("usage", usage="/plan_change PLAN (see /plans)"))
        return
    await _change(message, actor, cabinet, tr, words[0])


@routes.callback_query(F.data.startswith(PLAN), member=True)
async def plan_button(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    what = query.data.removeprefix(PLAN)
    if what == "list":
        await plans(query.message, actor, cabinet, tr)
    elif what.startswith("set:"):
        await _change(query.message, actor, cabinet, tr, what.removeprefix("set:"))


@routes.message(Command("option"), member=True)
async def option(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, _ = words_and_options(command.args, 2)
        if words[1].lower() not in ("on", "off") or len(words) != 2:
            raise Usage
    except Usage:
        await message.answer(tr("usage", usage="/option OPTION on|off (see /plan)"))
        return
    on = words[1].lower() == "on"
    await _option_set(message, actor, cabinet, tr, words[0], on)


async def _option_set(
    message: Message, actor: Actor, cabinet: Cabinet, tr: Translator, option: str, on: bool
) -> None:
    await cabinet.set_option(actor, option, on)
    info = cabinet.catalogue.options[option]
    name = info.ru if tr.lang == "ru" else info.en
    await message.answer(tr("bill-option-set-on" if on else "bill-option-set-off", name=name))


@routes.callback_query(F.data.startswith(OPTION_ON), member=True)
async def option_on_button(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    option = query.data.removeprefix(OPTION_ON)
    await _option_set(query.message, actor, cabinet, tr, option, True)


@routes.message(Command("sms_renew"), member=True)
async def sms_renew(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    switch = (command.args or "").strip().lower()
    if switch not in ("on", "off"):
        await message.answer(tr("usage", usage="/sms_renew on|off"))
        return
    await cabinet.set_sms_auto_renew(actor, switch == "on")
    await message.answer(tr("bill-sms-renew-set", on=switch))


def _packs(words: list[str]) -> int:
    if len(words) == 1:
        return 1
    if len(words) == 2 and words[1].isdigit():
        return int(words[1])
    raise Usage


@routes.message(Command("buy", "release"), member=True)
async def buy(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    try:
        words, _ = words_and_options(command.args, 1)
        packs = _packs(words)
    except Usage:
        await message.answer(tr("usage", usage=f"/{command.command} LIMIT [PACKS] (see /plan)"))
        return
    if command.command == "buy":
        await _bought(message, cabinet, tr, await cabinet.buy(actor, words[0], packs), words[0])
    else:
        await cabinet.release(actor, words[0], packs)
        await message.answer(tr("bill-released", name=tr(f"limit-{words[0]}"), packs=packs))


async def _bought(
    message: Message, cabinet: Cabinet, tr: Translator, account: Account, kind: str
) -> None:
    await message.answer(
        tr(
            "bill-bought",
            name=tr(f"limit-{kind}"),
            allowance=account.allowance(LimitKind(kind)) or 0,
        )
    )


@routes.callback_query(F.data.startswith(BUY), member=True)
async def buy_button(query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    await query.answer()
    if not isinstance(query.message, Message) or query.data is None:
        return
    kind, _, packs = query.data.removeprefix(BUY).partition(":")
    if not packs.isdigit():
        return
    await _bought(query.message, cabinet, tr, await cabinet.buy(actor, kind, int(packs)), kind)


def limit_markup(exc: PbxError, actor: Actor | None, tr: Translator) -> InlineKeyboardMarkup | None:
    """The one-tap offer under a limit error or a paid option that is off, for whoever
    may spend the money."""
    if actor is None or not actor.can(Perm.MANAGE_BILLING):
        return None
    if isinstance(exc, FeatureUnavailable) and exc.key == "option_off":
        lang_title = "title_ru" if tr.lang == "ru" else "title_en"
        text = tr("bill-option-button", name=exc.params[lang_title], fee=exc.params["price"],
                  cur=exc.params["currency"])  # fmt: skip
        data = f"{OPTION_ON}{exc.option}"
    elif isinstance(exc, LimitReached) and exc.packs_needed:
        text = tr("bill-buy-button", name=tr(f"limit-{exc.kind.value}"), packs=exc.packs_needed)
        data = f"{BUY}{exc.kind.value}:{exc.packs_needed}"
    else:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)]]
    )


@routes.message(Command("statement"), member=True)
async def statement(
    message: Message, command: CommandObject, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    words = (command.args or "").split()
    fmt = next((w.lower() for w in words if w.lower() in ("csv", "pdf")), None)
    rest = [w for w in words if w.lower() not in ("csv", "pdf")]
    if len(rest) > 1:
        await message.answer(tr("usage", usage="/statement [YYYY-MM] [csv|pdf]"))
        return
    await _send_statement(message, actor, cabinet, tr, rest[0] if rest else None, fmt)


@routes.callback_query(F.data.startswith(STATEMENT), member=True)
async def statement_button(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    """📄 PDF / 📊 CSV under the "statement is ready" alert: stmt:<YYYY-MM>:<fmt>."""
    await query.answer()
    month, _, fmt = (query.data or "").removeprefix(STATEMENT).partition(":")
    if isinstance(query.message, Message) and fmt in ("csv", "pdf"):
        await _send_statement(query.message, actor, cabinet, tr, month, fmt)


async def _send_statement(
    message: Message,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    month: str | None,
    fmt: str | None,
) -> None:
    s = await cabinet.statement(actor, month)
    cat = cabinet.catalogue
    if fmt is None:
        await _send(message, render_statement(tr, s, cat))
        return
    stem = f"statement_{s.month:%Y-%m}"

    def said(item: str, n: int) -> str:
        return change_text(tr, cat, item, n)

    if fmt == "csv":
        data = to_csv(s, tr.lang, said)
    else:
        data = to_pdf(s, tr.lang, tr("bill-pdf-title"), said)
    await message.answer_document(BufferedInputFile(data, filename=f"{stem}.{fmt}"))
