"""Company audio through the real bot and a fake Bot API server: a voice message after
/audio_add, an audio file with a caption, a broken file refused, the list with Listen
(a voice message that decodes to the uploaded tone) and Delete, and roles refused.

Needs PostgreSQL and Redis only (no SIP service), on this test's own port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services.cabinet import Cabinet, Role
from pbx.services.cabinet import TgUser as CabinetUser
from tests.support.audio import has_tone
from tests.support.bot import Chat, bot_settings, ffmpeg, running_bot, sine
from tests.support.fake_telegram import FakeTelegram, TgUser

pytestmark = pytest.mark.e2e

TG_PORT = 27600
TONE = 700.0
# Per-run user ids: the FSM state in the shared Redis never leaks between runs.
BASE_ID = 2_760_000_000 + (os.getpid() % 100_000) * 10


async def tone(tmp: Path, name: str, codec: str, seconds: float = 1.5) -> bytes:
    return await sine(tmp / name, TONE, seconds, codec)


@pytest.fixture
async def bot_env(
    pool: asyncpg.Pool, base_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FakeTelegram, Settings, Cabinet]]:
    settings = bot_settings(base_settings, tmp_path / "data", "botaudio.test")
    async with running_bot(pool, TG_PORT, settings) as env:
        yield env


async def test_owner_uploads_lists_listens_and_deletes(
    bot_env: tuple[FakeTelegram, Settings, Cabinet], pool: asyncpg.Pool, tmp_path: Path
) -> None:
    tg, settings, cabinet = bot_env
    owner_user = TgUser(BASE_ID + 1, "Olga")
    owner_tg = await cabinet.remember(CabinetUser(owner_user.id, "Olga", None, "en"))
    _, owner = await cabinet.onboard(owner_tg, "Audio Bot Co", "Europe/Moscow")
    olga = Chat(tg, owner_user)

    assert "No audio yet" in ((await olga.say("/audio")).text or "")
    assert "Usage" in ((await olga.say("/audio_add greeting")).text or "")
    assert "Unknown kind" in ((await olga.say("/audio_add jingle Hello")).text or "")

    # Two steps: the command, then a voice message (OGG/Opus as Telegram records it).
    asked = await olga.say("/audio_add greeting Welcome")
    assert "voice message" in (asked.text or "")
    await tg.send_voice(owner_user, await tone(tmp_path, "v.ogg", "libopus"), duration=2)
    saved = await olga.reply()
    assert "Welcome" in (saved.text or "") and "1.5 s" in (saved.text or ""), saved.text

    # One step: an audio file captioned with kind and name.
    mp3 = await tone(tmp_path, "t.mp3", "libmp3lame", seconds=3.0)
    await tg.send_document(owner_user, mp3, "tune.mp3", caption="moh Hold tune")
    saved = await olga.reply()
    assert "Hold tune" in (saved.text or "") and "3.0 s" in (saved.text or ""), saved.text

    # A file that is not audio: a clear answer, nothing stored.
    await tg.send_document(owner_user, b"%PDF-1.4 not audio" * 100, "x.mp3", caption="ivr Menu")
    refused = await olga.reply()
    assert "could not read this file as audio" in (refused.text or ""), refused.text
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audio_files WHERE company_id = $1", owner.company_id
        )
        == 2
    )

    listing = await olga.say("/audio")
    text = listing.text or ""
    assert "Hold tune" in text and "music on hold" in text and "Welcome" in text, text
    ids = {
        name: await pool.fetchval(
            "SELECT id FROM audio_files WHERE company_id = $1 AND name = $2", owner.company_id, name
        )
        for name in ("Welcome", "Hold tune")
    }

    # Listen: a voice message that is OGG/Opus and carries the uploaded tone.
    await tg.press(owner_user, listing, f"audio:play:{ids['Welcome']}")
    voice = await olga.reply()
    assert voice.method == "sendVoice" and voice.file is not None
    assert voice.file.data[:4] == b"OggS"
    got = tmp_path / "heard.ogg"
    got.write_bytes(voice.file.data)
    await ffmpeg("-i", str(got), "-ac", "1", "-ar", "8000", str(tmp_path / "heard.wav"))
    assert has_tone(tmp_path / "heard.wav", TONE, min_ratio=0.8, min_seconds=1.0)

    # Delete asks first, then removes the row and the files.
    await tg.press(owner_user, listing, f"audio:del:{ids['Hold tune']}")
    confirm = await olga.reply()
    assert "Delete “Hold tune”?" in (confirm.text or "")
    await tg.press(owner_user, confirm, f"audio:rm:{ids['Hold tune']}")
    done = await olga.reply()
    assert done.method == "editMessageText" and "Deleted" in (done.text or "")
    names = await pool.fetch("SELECT name FROM audio_files WHERE company_id = $1", owner.company_id)
    assert [r["name"] for r in names] == ["Welcome"]
    folder = settings.data_dir / "media" / str(owner.company_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{ids['Welcome']}{ext}" for ext in (".wav", ".8", ".0", ".ogg")
    )

    # An employee may not manage the company's audio.
    await cabinet.add_employee(owner, "Ivan", "105")
    invite = await cabinet.invite(owner, "105", Role.EMPLOYEE)
    ivan_user = TgUser(BASE_ID + 2, "Ivan")
    await cabinet.join(
        await cabinet.remember(CabinetUser(ivan_user.id, "Ivan", None, "en")), invite.token
    )
    ivan = Chat(tg, ivan_user)
    assert "does not allow" in ((await ivan.say("/audio")).text or "")
    assert "does not allow" in ((await ivan.say("/audio_add greeting Mine")).text or "")
