"""`/start`: a new user creates a company (name, time zone, language); `/start <token>`
joins by invite; an unknown user learns how to get an invite."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.menu import menu_markup
from bot.i18n import LANGUAGES, Translator
from bot.routes import Routes
from pbx.services import validation as v
from pbx.services.cabinet import Actor, Cabinet, TgUser

routes = Routes("onboarding")
TIMEZONES = (
    "Europe/Moscow",
    "Europe/Kaliningrad",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Vladivostok",
)


class NewCompany(StatesGroup):
    name = State()
    timezone = State()
    language = State()


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows
        ]
    )


@routes.message(CommandStart(deep_link=True))
async def start_with_invite(
    message: Message, command: CommandObject, cabinet: Cabinet, tg_user: TgUser, tr: Translator
) -> None:
    actor = await cabinet.join(tg_user, command.args or "")
    await message.answer(tr("joined", company=actor.company_name, role=tr(f"role-{actor.role}")))


@routes.message(CommandStart())
async def start(message: Message, actor: Actor | None, tr: Translator, state: FSMContext) -> None:
    await state.clear()
    if actor is not None:
        await message.answer(
            tr("welcome-back", role=tr(f"role-{actor.role}")), reply_markup=menu_markup(actor, tr)
        )
        return
    await message.answer(
        tr("welcome-unknown"), reply_markup=_keyboard([[(tr("btn-create-company"), "company:new")]])
    )


@routes.callback_query(F.data == "company:new")
async def ask_name(
    query: CallbackQuery, actor: Actor | None, tr: Translator, state: FSMContext
) -> None:
    await query.answer()
    if actor is not None or not isinstance(query.message, Message):
        return
    await state.set_state(NewCompany.name)
    await query.message.answer(tr("ask-company-name"))


@routes.message(NewCompany.name, F.text, ~F.text.startswith("/"))
async def got_name(message: Message, tr: Translator, state: FSMContext) -> None:
    # Checked at each step: a bad answer is explained and the question stays open.
    await state.update_data(name=v.clean_name(message.text or "", "company name", 200))
    await state.set_state(NewCompany.timezone)
    rows = [[(tz, f"tz:{tz}")] for tz in TIMEZONES]
    await message.answer(tr("ask-timezone"), reply_markup=_keyboard(rows))


@routes.callback_query(NewCompany.timezone, F.data.startswith("tz:"))
async def got_timezone_button(query: CallbackQuery, tr: Translator, state: FSMContext) -> None:
    await query.answer()
    assert query.data is not None
    await _ask_language(query.message, query.data[3:], tr, state)


@routes.message(NewCompany.timezone, F.text, ~F.text.startswith("/"))
async def got_timezone_text(message: Message, tr: Translator, state: FSMContext) -> None:
    await _ask_language(message, (message.text or "").strip(), tr, state)


async def _ask_language(message: object, tz: str, tr: Translator, state: FSMContext) -> None:
    if not isinstance(message, Message):
        return
    await state.update_data(timezone=v.validate_timezone(tz))
    await state.set_state(NewCompany.language)
    await message.answer(
        tr("ask-language"),
        reply_markup=_keyboard([[("English", "lang:en"), ("Русский", "lang:ru")]]),
    )


@routes.callback_query(NewCompany.language, F.data.startswith("lang:"))
async def got_language(
    query: CallbackQuery, cabinet: Cabinet, tg_user: TgUser, state: FSMContext
) -> None:
    await query.answer()
    assert query.data is not None
    lang = query.data[5:] if query.data[5:] in LANGUAGES else "en"
    data = await state.get_data()
    await cabinet.set_language(tg_user.tg_id, lang)
    tr = Translator(lang)
    company, _ = await cabinet.onboard(tg_user, data.get("name", ""), data.get("timezone", ""))
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.answer(
            tr("company-created", name=company.name, domain=company.sip_domain)
        )
