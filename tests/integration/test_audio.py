"""Company audio with real ffmpeg and PostgreSQL: uploads in the formats people send become
the PCMA/PCMU files the engine plays (the tone survives, the length is kept), unusable
files are refused with nothing stored, and the shipped prompts are complete."""

from __future__ import annotations

import asyncio
import itertools
import json
import wave
from pathlib import Path

import asyncpg
import numpy as np
import pytest

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services import audio as audio_mod
from pbx.services.audio import (
    LANGS,
    PROMPT_NAMES,
    AudioKind,
    AudioService,
    engine_base,
    prompt_source,
    system_prompt,
)
from pbx.services.cabinet import Actor, Cabinet, Forbidden, Role, TgUser
from storage.media import EXTENSIONS, with_ext
from tests.support.audio import analyse, has_tone, read_wav

_ids = itertools.count(9_600_001)
TONE = 700.0


async def run(*cmd: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out


async def make_tone(tmp: Path, fmt: str, seconds: float, freq: float = TONE) -> bytes:
    """A sine tone encoded as people send it: 48 kHz stereo, in the given container."""
    out = tmp / f"tone-{freq:.0f}-{seconds}.{fmt}"
    codec = {
        "ogg": ["-c:a", "libopus"],
        "mp3": ["-c:a", "libmp3lame"],
        "wav": ["-c:a", "pcm_s16le"],
        "m4a": ["-c:a", "aac"],
    }[fmt]
    src = f"sine=frequency={freq}:duration={seconds}:sample_rate=48000"
    await run(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src,
        "-ac", "2", *codec, str(out),
    )  # fmt: skip
    return out.read_bytes()


async def decode_raw(raw: Path, fmt: str, out: Path) -> Path:
    await run(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", fmt, "-ar", "8000", "-ac", "1",
        "-i", str(raw), "-c:a", "pcm_s16le", str(out),
    )  # fmt: skip
    return out


async def probe_codec(path: Path) -> dict[str, str]:
    out = await run(
        "ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=format_name",
        "-of", "json", str(path),
    )  # fmt: skip
    info = json.loads(out)
    return {"codec": info["streams"][0]["codec_name"], "format": info["format"]["format_name"]}


def settings_for(tmp: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp / "data", sip_domain="audio.test", **extra)  # type: ignore[arg-type]


async def new_owner(pool: asyncpg.Pool) -> Actor:
    cabinet = Cabinet(pool, Settings(sip_domain="audio.test"))
    n = next(_ids)
    user = await cabinet.remember(TgUser(n, f"Owner{n}", None, "en"))
    _, actor = await cabinet.onboard(user, f"Audio Co {n}", "Europe/Moscow")
    return actor


def stored_files(settings: Settings, company_id: int) -> list[Path]:
    folder = settings.data_dir / "media" / str(company_id)
    return sorted(folder.iterdir()) if folder.exists() else []


async def rows_of(pool: asyncpg.Pool, company_id: int) -> int:
    return int(
        await pool.fetchval("SELECT count(*) FROM audio_files WHERE company_id = $1", company_id)
    )


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "wav", "m4a"])
async def test_upload_becomes_what_the_engine_plays(
    fmt: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    data = await make_tone(tmp_path, fmt, 1.5)

    audio = await service.add(owner, AudioKind.GREETING, f"Hello {fmt}", data, f"hello.{fmt}")

    assert abs(audio.duration_ms - 1500) <= 50, audio.duration_ms
    master, rate = read_wav(with_ext(audio.base_path, ".wav"))
    assert rate == 8000 and abs(len(master) / 8 - 1500) <= 50
    assert audio.base_path.is_absolute() and audio.base_path.parent.name == str(owner.company_id)
    for ext in EXTENSIONS:
        assert with_ext(audio.base_path, ext).is_file(), ext
    # The raw payload files decode back to the same tone and length.
    for ext, codec in ((".8", "alaw"), (".0", "mulaw")):
        raw = with_ext(audio.base_path, ext)
        assert abs(raw.stat().st_size / 8 - 1500) <= 50  # one byte per sample at 8 kHz
        decoded = await decode_raw(raw, codec, tmp_path / f"back{ext}.wav")
        assert has_tone(decoded, TONE, min_ratio=0.8, min_seconds=1.2)
        assert not has_tone(decoded, 1000.0)
        # Sample by sample the master, up to G.711 quantisation (a wrong codec is far off).
        back, _ = read_wav(decoded)
        assert len(back) == len(master)
        error = np.sqrt(np.mean((back - master) ** 2)) / np.sqrt(np.mean(master**2))
        assert error < 0.05, (ext, error)
    assert await probe_codec(with_ext(audio.base_path, ".ogg")) == {
        "codec": "opus",
        "format": "ogg",
    }

    assert [a.id for a in await service.list(owner)] == [audio.id]
    assert await service.get(owner, audio.id) == audio
    assert await engine_base(owner.company_id, audio.id, "greeting", "en", settings) == (
        audio.base_path
    )


async def test_garbage_is_refused_and_nothing_is_stored(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    for data, name in ((b"\x00\x01garbage" * 500, "x.mp3"), (b"", "empty.ogg")):
        with pytest.raises(ValidationError) as e:
            await service.add(owner, AudioKind.IVR, "menu", data, name)
        assert e.value.key == "audio_not_audio"
    # A playlist must not make ffmpeg read other files (only audio demuxers are allowed).
    secret = await make_tone(tmp_path, "wav", 1.0)
    (tmp_path / "secret.wav").write_bytes(secret)
    playlist = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{tmp_path / 'secret.wav'}\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.IVR, "menu", playlist.encode(), "menu.m3u8")
    assert e.value.key == "audio_not_audio"
    assert await rows_of(pool, owner.company_id) == 0
    assert stored_files(settings, owner.company_id) == []
    assert list((settings.data_dir / "media" / ".tmp").iterdir()) == []  # no leftovers


async def test_limits_long_big_short_silent(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, audio_max_seconds=2, audio_max_seconds_music=5, audio_max_upload_bytes=200_000
    )
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    three_s = await make_tone(tmp_path, "ogg", 3.0)

    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.GREETING, "long", three_s, "long.ogg")
    assert e.value.key == "audio_too_long" and e.value.params["max_seconds"] == "2"
    # Music may be longer than a prompt.
    moh = await service.add(owner, AudioKind.MOH, "music", three_s, "music.ogg")
    assert abs(moh.duration_ms - 3000) <= 50

    big = await make_tone(tmp_path, "wav", 3.0)  # 48 kHz stereo WAV: ~576 kB
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.MOH, "big", big, "big.wav")
    assert e.value.key == "audio_too_big"

    short = await make_tone(tmp_path, "ogg", 0.1)
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.MESSAGE, "short", short, "short.ogg")
    assert e.value.key == "audio_too_short"

    silent = await make_tone(tmp_path, "ogg", 1.0, freq=0)
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.MESSAGE, "silent", silent, "silent.ogg")
    assert e.value.key == "audio_silent"

    # Refused by the announced size before anything is downloaded (bots: 20 MB at most).
    with pytest.raises(ValidationError) as e:
        service.check_size(150_000, limit=100_000)
    assert e.value.key == "audio_too_big" and e.value.params["max_mb"] == f"{100_000 / 2**20:g}"
    service.check_size(150_000, limit=20 * 2**20)
    service.check_size(None)

    assert [a.name for a in await service.list(owner)] == ["music"]
    assert len(stored_files(settings, owner.company_id)) == len(EXTENSIONS)


async def test_names_kinds_roles_and_isolation(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    owner, other = await new_owner(pool), await new_owner(pool)
    service = AudioService(pool, settings)
    data = await make_tone(tmp_path, "ogg", 1.0)
    first = await service.add(owner, "ivr", "Main menu", data, None)

    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.GREETING, "main MENU", data, None)
    assert e.value.key == "audio_name_taken"
    with pytest.raises(ValidationError) as e:
        await service.add(owner, "jingle", "x", data, None)
    assert e.value.key == "audio_bad_kind" and "moh" in e.value.params["kinds"]
    for bad in ("   ", "x" * 65):
        with pytest.raises(ValidationError) as e:
            await service.add(owner, AudioKind.GREETING, bad, data, None)
        assert e.value.key in ("name_empty", "name_too_long")

    employee = Actor(owner.tg_id, owner.company_id, Role.EMPLOYEE, None, "en")
    with pytest.raises(Forbidden):
        await service.list(employee)
    with pytest.raises(Forbidden):
        await service.add(employee, AudioKind.GREETING, "sneaky", data, None)

    # Another company neither sees nor plays nor deletes this audio.
    assert await service.list(other) == []
    with pytest.raises(NotFound):
        await service.voice_ogg(other, first.id)
    with pytest.raises(NotFound):
        await service.remove(other, first.id)
    fallback = await engine_base(other.company_id, first.id, "greeting", "ru", settings)
    assert fallback == settings.data_dir / "media" / "system" / "ru" / "greeting"
    assert await rows_of(pool, owner.company_id) == 1


async def test_a_lost_race_for_the_name_leaves_no_files(
    pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is checked early, but the unique index decides; files of the loser go."""
    settings = settings_for(tmp_path)
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    data = await make_tone(tmp_path, "ogg", 1.0)
    await service.add(owner, AudioKind.GREETING, "hello", data, None)

    async def not_taken(*_: object) -> bool:
        return False

    monkeypatch.setattr(audio_mod.media, "name_taken", not_taken)
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.GREETING, "Hello", data, None)
    assert e.value.key == "audio_name_taken"
    assert await rows_of(pool, owner.company_id) == 1
    assert len(stored_files(settings, owner.company_id)) == len(EXTENSIONS)


async def test_quota(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, audio_company_quota_bytes=40_000)
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    one_s = await make_tone(tmp_path, "ogg", 1.0)  # ~16 kB wav + 8 + 8 + ogg ≈ 35 kB
    await service.add(owner, AudioKind.GREETING, "a", one_s, None)
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.GREETING, "b", one_s, None)
    assert e.value.key == "audio_quota"
    assert await rows_of(pool, owner.company_id) == 1


async def test_remove_and_listen(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    owner = await new_owner(pool)
    service = AudioService(pool, settings)
    audio = await service.add(
        owner, AudioKind.MOH, "tune", await make_tone(tmp_path, "mp3", 1.0), "t.mp3"
    )

    ogg = await service.voice_ogg(owner, audio.id)
    ogg.unlink()  # the Telegram copy is made again from the master when missing
    again = await service.voice_ogg(owner, audio.id)
    assert again == ogg and (await probe_codec(again))["codec"] == "opus"

    await service.remove(owner, audio.id)
    assert await rows_of(pool, owner.company_id) == 0
    assert stored_files(settings, owner.company_id) == []
    actions = await pool.fetch(
        "SELECT action, target FROM audit_log WHERE company_id = $1 ORDER BY id", owner.company_id
    )
    assert [(r["action"], r["target"]) for r in actions][-2:] == [
        ("audio.add", "tune"),
        ("audio.remove", "tune"),
    ]
    with pytest.raises(NotFound):
        await service.remove(owner, audio.id)
    # Deleted audio falls back to the system prompt.
    base = await engine_base(owner.company_id, audio.id, "moh", "en", settings)
    assert base == settings.data_dir / "media" / "system" / "en" / "moh"


@pytest.mark.parametrize("lang", LANGS)
def test_every_shipped_prompt_exists_and_sounds(lang: str) -> None:
    for name in PROMPT_NAMES:
        src = prompt_source(lang, name)
        with wave.open(str(src), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), src
        report = analyse(src, 1000.0)
        assert report.voiced_seconds >= 0.2 and report.rms > 0.02, (src, report)
        assert report.seconds < 12, src  # prompts stay short
    assert has_tone(prompt_source(lang, "beep"), 1000.0, min_ratio=0.9, min_seconds=0.3)
    assert not has_tone(prompt_source(lang, "greeting"), 1000.0, min_ratio=0.9, min_seconds=0.3)
    # The two languages really are different recordings.
    assert (
        prompt_source("en", "greeting").read_bytes() != prompt_source("ru", "greeting").read_bytes()
    )


async def test_system_prompts_are_made_ready_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    base = await system_prompt("ru", "beep", settings)
    assert base == settings.data_dir / "media" / "system" / "ru" / "beep"
    a_law = with_ext(base, ".8")
    assert a_law.stat().st_size == 3200  # 0.4 s at 8000 one-byte samples
    decoded = await decode_raw(a_law, "alaw", tmp_path / "beep.wav")
    assert has_tone(decoded, 1000.0, min_ratio=0.9, min_seconds=0.3)
    first = a_law.stat().st_mtime_ns
    assert await system_prompt("ru", "beep", settings) == base
    assert a_law.stat().st_mtime_ns == first  # not converted again
    # Every prompt converts (both codecs), and unknown languages get English.
    for name in PROMPT_NAMES:
        b = await system_prompt("de", name, settings)
        assert with_ext(b, ".8").stat().st_size == with_ext(b, ".0").stat().st_size > 2000
    assert await engine_base(1, None, "goodbye", "de", settings) == (
        settings.data_dir / "media" / "system" / "en" / "goodbye"
    )


async def test_melody_storage_is_limited_by_the_plan(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """СТАРТ+ (seed 000) stores 5 MB of melodies, +5 MB for 50 a month."""
    settings = settings_for(tmp_path, signup_plan="start_plus")
    cabinet = Cabinet(pool, settings)
    n = next(_ids)
    user = await cabinet.remember(TgUser(n, f"Owner{n}", None, "en"))
    _, owner = await cabinet.onboard(user, f"Melody Co {n}", "Europe/Moscow")
    service = AudioService(pool, settings)
    data = await make_tone(tmp_path, "ogg", 1.0)
    first = await service.add(owner, AudioKind.MOH, "first", data, "first.ogg")
    # Fill the rest of the 5 MB as if earlier melodies took it.
    await pool.execute(
        "UPDATE audio_files SET size_bytes = $2 WHERE id = $1",
        first.id,
        5 * 1024 * 1024 - 1000,
    )
    with pytest.raises(ValidationError) as e:
        await service.add(owner, AudioKind.MOH, "second", data, "second.ogg")
    assert e.value.key == "limit_buy"
    assert (e.value.params["kind"], e.value.params["price"], e.value.params["step"]) == (
        "melody_storage_mb",
        "50.00",
        5,
    )
    assert await rows_of(pool, owner.company_id) == 1
    assert len(stored_files(settings, owner.company_id)) == 4  # only the first's files
    await cabinet.buy(owner, "melody_storage_mb")
    await service.add(owner, AudioKind.MOH, "second", data, "second.ogg")
    assert await rows_of(pool, owner.company_id) == 2
