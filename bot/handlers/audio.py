"""Company audio (owner and admin): greetings, IVR prompts, music on hold from voice
messages and audio files; a list with Listen and Delete buttons."""

from __future__ import annotations

import io

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.i18n import Translator
from bot.routes import Routes
from pbx.services.audio import AudioFile, AudioKind, AudioService
from pbx.services.cabinet import Actor, Cabinet

routes = Routes("audio")

USAGE = "/audio_add " + "|".join(k.value for k in AudioKind) + " NAME"
PER_MESSAGE = 20  # files per list message: two buttons each, well under Telegram's 100
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024
AUDIO_MEDIA = F.voice | F.audio | F.document


class AudioUpload(StatesGroup):
    file = State()


def _service(cabinet: Cabinet) -> AudioService:
    return AudioService(cabinet.pool, cabinet.settings)


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f}"


def _line(tr: Translator, a: AudioFile) -> str:
    return tr(
        "audio-line",
        id=str(a.id),
        name=a.name,
        kind=tr(f"audio-kind-{a.kind}"),
        seconds=_seconds(a.duration_ms),
    )


def _keyboard(tr: Translator, files: list[AudioFile]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr("audio-btn-listen", name=a.name[:40]),
                    callback_data=f"audio:play:{a.id}",
                ),
                InlineKeyboardButton(
                    text=tr("audio-btn-delete"), callback_data=f"audio:del:{a.id}"
                ),
            ]
            for a in files
        ]
    )


@routes.message(Command("audio"), member=True)
async def audio_list(message: Message, actor: Actor, cabinet: Cabinet, tr: Translator) -> None:
    files = await _service(cabinet).list(actor)
    if not files:
        await message.answer(tr("audio-empty", usage=USAGE))
        return
    for start in range(0, len(files), PER_MESSAGE):
        part = files[start : start + PER_MESSAGE]
        lines = [tr("audio-title")] if start == 0 else []
        lines += [_line(tr, a) for a in part]
        await message.answer("\n".join(lines), reply_markup=_keyboard(tr, part))


@routes.message(Command("audio_add"), member=True)
async def audio_add(
    message: Message,
    command: CommandObject,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
) -> None:
    words = (command.args or "").split(maxsplit=1)
    if len(words) != 2:
        await message.answer(tr("usage", usage=USAGE))
        return
    # Kind, name, role and quota are checked before the user records anything.
    kind, name = await _service(cabinet).check_new(actor, words[0], words[1])
    await state.set_state(AudioUpload.file)
    await state.update_data(audio_kind=kind.value, audio_name=name)
    await message.answer(tr("audio-send-file", name=name, kind=tr(f"audio-kind-{kind}")))


@routes.message(AudioUpload.file, AUDIO_MEDIA, member=True)
async def audio_file(
    message: Message,
    actor: Actor,
    cabinet: Cabinet,
    tr: Translator,
    state: FSMContext,
    bot: Bot,
) -> None:
    data = await state.get_data()
    # On an unusable file the state stays, so the user can simply send another one.
    await _store(message, bot, _service(cabinet), actor, tr, data["audio_kind"], data["audio_name"])
    await state.clear()


@routes.message(AudioUpload.file, ~F.text.startswith("/"), member=True)
async def audio_file_expected(message: Message, tr: Translator, state: FSMContext) -> None:
    await state.clear()
    await message.answer(tr("audio-add-cancelled", usage=USAGE))


@routes.message(StateFilter(None), AUDIO_MEDIA, F.caption, member=True)
async def audio_with_caption(
    message: Message, actor: Actor, cabinet: Cabinet, tr: Translator, bot: Bot
) -> None:
    """A voice or audio file captioned `KIND NAME` is stored in one step."""
    words = (message.caption or "").split(maxsplit=1)
    if len(words) != 2:
        await message.answer(tr("usage", usage=USAGE))
        return
    service = _service(cabinet)
    kind, name = await service.check_new(actor, words[0], words[1])
    await _store(message, bot, service, actor, tr, kind.value, name)


async def _store(
    message: Message,
    bot: Bot,
    service: AudioService,
    actor: Actor,
    tr: Translator,
    kind: str,
    name: str,
) -> None:
    media = message.voice or message.audio or message.document
    assert media is not None
    # Refused by the size Telegram announces, before downloading (bots get at most 20 MB).
    service.check_size(media.file_size, BOT_DOWNLOAD_LIMIT)
    buf = io.BytesIO()
    await bot.download(media, destination=buf, timeout=120)
    filename = getattr(media, "file_name", None)
    audio = await service.add(actor, kind, name, buf.getvalue(), filename)
    await message.answer(
        tr(
            "audio-added",
            name=audio.name,
            kind=tr(f"audio-kind-{audio.kind}"),
            seconds=_seconds(audio.duration_ms),
        )
    )


def _audio_id(query: CallbackQuery) -> int:
    tail = (query.data or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@routes.callback_query(F.data.startswith("audio:play:"), member=True)
async def audio_listen(query: CallbackQuery, actor: Actor, cabinet: Cabinet) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    service = _service(cabinet)
    audio = await service.get(actor, _audio_id(query))
    ogg = await service.voice_ogg(actor, audio.id)
    await query.message.answer_voice(
        FSInputFile(ogg, filename=f"{audio.name}.ogg"),
        caption=audio.name,
        duration=max(1, round(audio.duration_ms / 1000)),
    )


@routes.callback_query(F.data.startswith("audio:del:"), member=True)
async def audio_delete_ask(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    audio = await _service(cabinet).get(actor, _audio_id(query))
    yes = InlineKeyboardButton(text=tr("audio-btn-confirm"), callback_data=f"audio:rm:{audio.id}")
    await query.message.answer(
        tr("audio-delete-confirm", name=audio.name),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[yes]]),
    )


@routes.callback_query(F.data.startswith("audio:rm:"), member=True)
async def audio_delete(
    query: CallbackQuery, actor: Actor, cabinet: Cabinet, tr: Translator
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    service = _service(cabinet)
    audio = await service.get(actor, _audio_id(query))
    await service.remove(actor, audio.id)
    await query.message.edit_text(tr("audio-deleted", name=audio.name), reply_markup=None)
