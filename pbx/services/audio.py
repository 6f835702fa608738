"""Company audio: uploads converted to what the engine plays, stored per company, and the
shipped system prompts.

An upload (Telegram voice = OGG/Opus, MP3, WAV, M4A, ...) is decoded by ffmpeg into a
16-bit 8 kHz mono WAV master, checked (length, silence), and encoded once into the raw
PCMA (`.8`) and PCMU (`.0`) payload files the media relay plays, and into OGG/Opus for
sending back to Telegram. ffmpeg runs as an asyncio subprocess with a timeout and only
the demuxers of audio formats (a playlist or concat file cannot make it read other files).
"""

from __future__ import annotations

import array
import asyncio
import os
import shutil
import sys
import tempfile
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import asyncpg

from pbx.billing.catalogue import LimitKind, resolve
from pbx.billing.limits import Limits
from pbx.config import Settings, get_settings
from pbx.errors import NotFound, PbxError, ValidationError
from pbx.logging import get_logger
from pbx.services import validation as v
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, require
from pbx.services.scenarios import users_of
from storage import media
from storage.media import MediaStore, with_ext

log = get_logger(__name__)

RATE = 8000
NAME_MAX = 64
# Demuxers an upload may be read with: the audio containers people send.
DEMUXERS = "ogg,mp3,wav,mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,flac,aac,amr"
SILENT_PEAK = 100  # of 32767: about -50 dBFS; quieter than that is not a recording
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
LANGS = ("en", "ru")
# The shipped prompts (pbx/prompts/<lang>/<name>.wav; beep and moh are shared).
PROMPT_NAMES = (
    "greeting",
    "closed",
    "voicemail",
    "beep",
    "invalid",
    "timeout",
    "goodbye",
    "unavailable",
    "queue_wait",
    "queue_position",
    *(f"d{i}" for i in range(10)),
    "queue_callback",
    "callback_ok",
    "recorded",
    "moh",
    "ringback",
)


class AudioKind(StrEnum):
    GREETING = "greeting"
    IVR = "ivr"
    VOICEMAIL_GREETING = "voicemail_greeting"
    MOH = "moh"
    RINGBACK = "ringback"
    MESSAGE = "message"


MUSIC_KINDS = frozenset({AudioKind.MOH, AudioKind.RINGBACK})


@dataclass(frozen=True)
class AudioFile:
    id: int
    company_id: int
    kind: AudioKind
    name: str
    duration_ms: int
    size_bytes: int
    base_path: Path  # absolute, without extension: <base>.wav/.8/.0/.ogg


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int
    max_ms: int
    min_ms: int

    @classmethod
    def for_kind(cls, settings: Settings, kind: AudioKind) -> AudioLimits:
        seconds = (
            settings.audio_max_seconds_music if kind in MUSIC_KINDS else settings.audio_max_seconds
        )
        return cls(settings.audio_max_upload_bytes, seconds * 1000, settings.audio_min_ms)


@dataclass(frozen=True)
class ConvertedAudio:
    """A finished conversion in its own temporary folder (removed by `cleanup`)."""

    workdir: Path
    duration_ms: int
    files: dict[str, Path]  # extension → file: .wav, .8, .0, .ogg

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _too_big(size: int, cap: int) -> ValidationError:
    return ValidationError(
        f"the file is too big ({size} bytes, at most {cap})",
        key="audio_too_big",
        max_mb=f"{cap / (1024 * 1024):g}",
    )


def parse_kind(value: str | AudioKind) -> AudioKind:
    try:
        return AudioKind(str(value).strip().lower())
    except ValueError:
        kinds = ", ".join(k.value for k in AudioKind)
        raise ValidationError(
            f"unknown audio kind {value!r}: use one of {kinds}",
            key="audio_bad_kind",
            kind=str(value),
            kinds=kinds,
        ) from None


def clean_audio_name(name: str) -> str:
    return v.clean_name(name, "audio name", NAME_MAX)


# --- ffmpeg -----------------------------------------------------------------------------


async def _ffmpeg(args: list[str], timeout: float) -> None:
    """Run ffmpeg without blocking the loop; PbxError with its last complaint on failure."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        raise PbxError("ffmpeg is not installed: install the ffmpeg package") from None
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PbxError(
            f"audio conversion took longer than {timeout:.0f} s", key="audio_timeout"
        ) from None
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise _FfmpegFailed(lines[-1] if lines else f"exit code {proc.returncode}")


class _FfmpegFailed(PbxError):
    pass


def _measure(wav_path: Path) -> tuple[int, int]:
    """Duration (ms) and peak sample of a 16-bit mono WAV."""
    with wave.open(str(wav_path), "rb") as w:
        frames = w.getnframes()
        rate = w.getframerate()
        samples = array.array("h", w.readframes(frames))
    if sys.byteorder == "big":
        samples.byteswap()
    peak = max(max(samples, default=0), -min(samples, default=0))
    return frames * 1000 // rate, peak


async def encode_engine_files(wav: Path, a_law: Path, mu_law: Path, timeout: float = 60.0) -> None:
    """The raw payload files the media relay plays (8 kHz mono, no header)."""
    codec = ["-ar", str(RATE), "-ac", "1"]
    await _ffmpeg(
        ["-i", str(wav), *codec, "-f", "alaw", str(a_law), *codec, "-f", "mulaw", str(mu_law)],
        timeout,
    )


async def to_ogg_opus(wav_path: Path, out: Path, timeout: float = 60.0) -> None:
    """OGG/Opus that Telegram shows as a voice message (also for voicemail delivery).
    Written next to `out` first and renamed, so a reader never sees half a file."""
    tmp = out.parent / f".{out.name}.part"
    try:
        opus = ["-c:a", "libopus", "-b:a", "24k", "-application", "voip"]
        await _ffmpeg(["-i", str(wav_path), "-ac", "1", *opus, "-f", "ogg", str(tmp)], timeout)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


async def convert_upload(
    data: bytes,
    filename: str | None,
    limits: AudioLimits,
    *,
    workdir: Path | None = None,
    timeout: float = 60.0,
) -> ConvertedAudio:
    """Decode and check an upload, then produce every file the PBX keeps for it.

    `workdir`: the parent of the temporary folder (the media store's, so that moving
    the results into place is a rename). Raises ValidationError for unusable files.
    """
    if len(data) > limits.max_bytes:
        raise _too_big(len(data), limits.max_bytes)
    if not data:
        raise ValidationError("the file is empty", key="audio_not_audio")
    work = Path(tempfile.mkdtemp(prefix="conv-", dir=workdir))
    try:
        src = work / "upload"
        await asyncio.to_thread(src.write_bytes, data)
        wav = work / "audio.wav"
        # Decoding stops a little past the limit: a 3-hour upload is not decoded in full.
        cap = f"{limits.max_ms / 1000 + 1:.3f}"
        reader = ["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS]
        pcm = ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(RATE), "-c:a", "pcm_s16le"]
        try:
            await _ffmpeg(
                [*reader, "-i", str(src), *pcm, "-t", cap, "-f", "wav", str(wav)], timeout
            )
        except _FfmpegFailed as exc:
            log.info("audio_not_decodable", filename=filename, error=str(exc))
            raise ValidationError(
                f"cannot read {filename or 'the file'} as audio ({exc})", key="audio_not_audio"
            ) from None
        src.unlink()
        duration_ms, peak = await asyncio.to_thread(_measure, wav)
        if duration_ms > limits.max_ms:
            raise ValidationError(
                f"the recording is too long (more than {limits.max_ms // 1000} s)",
                key="audio_too_long",
                max_seconds=str(limits.max_ms // 1000),
            )
        if duration_ms < limits.min_ms:
            raise ValidationError(
                f"the recording is too short ({duration_ms} ms, at least {limits.min_ms} ms)",
                key="audio_too_short",
                min_ms=str(limits.min_ms),
            )
        if peak < SILENT_PEAK:
            raise ValidationError("the recording is silent", key="audio_silent")
        files = {".wav": wav, ".8": work / "audio.8", ".0": work / "audio.0"}
        try:
            await encode_engine_files(wav, files[".8"], files[".0"], timeout)
            files[".ogg"] = work / "audio.ogg"
            await to_ogg_opus(wav, files[".ogg"], timeout)
        except _FfmpegFailed as exc:  # our own WAV: a broken ffmpeg, not the user's file
            raise PbxError(f"ffmpeg could not encode audio: {exc}") from None
        return ConvertedAudio(work, duration_ms, files)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


# --- shipped prompts and what the engine plays ------------------------------------------


def media_root(settings: Settings) -> Path:
    return settings.data_dir / "media"


def prompt_source(lang: str, name: str) -> Path:
    """The committed WAV of a system prompt (language folder first, then shared)."""
    lang = lang if lang in LANGS else "en"
    for path in (PROMPTS_DIR / lang / f"{name}.wav", PROMPTS_DIR / f"{name}.wav"):
        if path.is_file():
            return path
    raise PbxError(f"there is no system prompt {name!r} (see pbx/prompts/README.md)")


async def system_prompt(lang: str, name: str, settings: Settings | None = None) -> Path:
    """The engine-ready base of a shipped prompt (`<base>.8`/`.0` exist next to it),
    converted under `<data_dir>/media/system/<lang>/` on first use."""
    s = settings or get_settings()
    lang = lang if lang in LANGS else "en"
    src = prompt_source(lang, name)
    out_dir = MediaStore(media_root(s)).system_dir(lang)
    base = out_dir / name
    targets = [with_ext(base, ".8"), with_ext(base, ".0")]
    src_mtime = src.stat().st_mtime
    if all(t.is_file() and t.stat().st_mtime >= src_mtime for t in targets):
        return base
    out_dir.mkdir(parents=True, exist_ok=True)
    # Private names, then renames: concurrent first uses (two nodes) never see half a file.
    tag = f".{os.getpid()}.{id(asyncio.current_task())}.part"
    tmp = [t.parent / f"{t.name}{tag}" for t in targets]
    try:
        await encode_engine_files(src, tmp[0], tmp[1], s.audio_ffmpeg_timeout)
        for part, target in zip(tmp, targets, strict=True):
            os.replace(part, target)
    finally:
        for part in tmp:
            part.unlink(missing_ok=True)
    return base


async def engine_base(
    company_id: int,
    audio_id: int | None,
    fallback_prompt: str,
    lang: str,
    settings: Settings | None = None,
) -> Path:
    """What the engine plays: the company's audio when it exists, else the system prompt.

    Files are named after the company and audio ids, so no query is needed and an id
    of another company never resolves here.
    """
    s = settings or get_settings()
    if audio_id is not None:
        store = MediaStore(media_root(s))
        base = store.absolute(store.relative_base(company_id, audio_id))
        if with_ext(base, ".8").is_file():
            return base
    return await system_prompt(lang, fallback_prompt, s)


# --- the service ------------------------------------------------------------------------


MIB = 1024 * 1024


class AudioService:
    """Company audio for the cabinet: owners and admins add, list, listen and remove."""

    def __init__(self, pool_or_conn: asyncpg.Pool | asyncpg.Connection, settings: Settings) -> None:
        self.db = pool_or_conn
        self.settings = settings
        self.store = MediaStore(media_root(settings))

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if isinstance(self.db, asyncpg.Pool):
            async with self.db.acquire() as conn:
                yield conn
        else:
            yield self.db

    def _file(self, row: media.AudioRow) -> AudioFile:
        return AudioFile(
            id=row.id,
            company_id=row.company_id,
            kind=AudioKind(row.kind),
            name=row.name,
            duration_ms=row.duration_ms,
            size_bytes=row.size_bytes,
            base_path=self.store.absolute(row.base_path),
        )

    def limits(self, kind: AudioKind) -> AudioLimits:
        return AudioLimits.for_kind(self.settings, kind)

    def check_size(self, size: int | None, limit: int | None = None) -> None:
        """Refuse a file by its announced size before downloading it (`limit`: a smaller
        cap of the channel, e.g. Telegram's 20 MB for bots)."""
        cap = min(
            self.settings.audio_max_upload_bytes, limit or self.settings.audio_max_upload_bytes
        )
        if size is not None and size > cap:
            raise _too_big(size, cap)

    async def check_new(
        self, actor: Actor, kind: str | AudioKind, name: str
    ) -> tuple[AudioKind, str]:
        """Everything about a new audio that can be said before the file arrives."""
        require(actor, Perm.MANAGE_NUMBERS)
        audio_kind, clean = parse_kind(kind), clean_audio_name(name)
        async with self._conn() as conn:
            if await media.name_taken(conn, actor.company_id, clean):
                raise _name_taken(clean)
            used = await media.total_bytes(conn, actor.company_id)
        if used >= self.settings.audio_company_quota_bytes:
            raise self._quota_error()
        return audio_kind, clean

    async def add(
        self, actor: Actor, kind: AudioKind | str, name: str, data: bytes, filename: str | None
    ) -> AudioFile:
        audio_kind, clean = await self.check_new(actor, kind, name)
        converted = await convert_upload(
            data,
            filename,
            self.limits(audio_kind),
            workdir=self.store.tmp_root,
            timeout=self.settings.audio_ffmpeg_timeout,
        )
        rel: str | None = None
        try:
            size = converted.size_bytes
            async with self._conn() as conn, conn.transaction():
                # Serialise adds of one company so the quota holds under concurrency.
                await conn.execute("SELECT pg_advisory_xact_lock(7061, $1::int)", actor.company_id)
                used = await media.total_bytes(conn, actor.company_id)
                if used + size > self.settings.audio_company_quota_bytes:
                    raise self._quota_error()
                limits = await Limits.of(conn, resolve(self.settings.catalogue), actor.company_id)
                await limits.need(
                    LimitKind.MELODY_STORAGE_MB, -(-(used + size) // MIB) - -(-used // MIB)
                )
                audio_id = await media.next_id(conn)
                rel = self.store.relative_base(actor.company_id, audio_id)
                try:
                    row = await media.insert(
                        conn, audio_id, actor.company_id, audio_kind.value, clean,
                        converted.duration_ms, size, rel, actor.tg_id,
                    )  # fmt: skip
                except asyncpg.UniqueViolationError:
                    raise _name_taken(clean) from None
                await CabinetBase._audit(
                    conn, actor, actor.company_id, "audio.add", clean,
                    new={"kind": audio_kind.value, "duration_ms": converted.duration_ms},
                )  # fmt: skip
                # Files go into place inside the transaction: if the commit fails they
                # are removed below, so a row never lacks its files and vice versa.
                self.store.place(converted.files, rel)
        except BaseException:
            if rel is not None:
                self.store.remove(rel)
            raise
        finally:
            converted.cleanup()
        log.info("audio_added", company_id=actor.company_id, audio_id=row.id, kind=row.kind)
        return self._file(row)

    async def list(self, actor: Actor) -> list[AudioFile]:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._conn() as conn:
            return [self._file(r) for r in await media.list_for(conn, actor.company_id)]

    async def get(self, actor: Actor, audio_id: int) -> AudioFile:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._conn() as conn:
            row = await media.get(conn, actor.company_id, audio_id)
        if row is None:
            raise _no_such(audio_id)
        return self._file(row)

    async def remove(self, actor: Actor, audio_id: int) -> None:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._conn() as conn, conn.transaction():
            try:
                row = await media.delete(conn, actor.company_id, audio_id)
            except asyncpg.ForeignKeyViolationError:  # a menu or queue still plays it
                raise ValidationError(
                    f"audio #{audio_id} is still in use", key="audio_in_use", id=str(audio_id)
                ) from None
            if row is None:
                raise _no_such(audio_id)
            if await audio_users(conn, actor.company_id, row.name):
                raise ValidationError(
                    f"audio #{audio_id} is still in use", key="audio_in_use", id=str(audio_id)
                )
            await CabinetBase._audit(
                conn, actor, actor.company_id, "audio.remove", row.name,
                old={"kind": row.kind, "duration_ms": row.duration_ms},
            )  # fmt: skip
        self.store.remove(row.base_path)

    async def voice_ogg(self, actor: Actor, audio_id: int) -> Path:
        """OGG/Opus of the audio, for sending back as a Telegram voice message."""
        audio = await self.get(actor, audio_id)
        ogg = with_ext(audio.base_path, ".ogg")
        if not ogg.is_file():  # made again from the master if it went missing
            await to_ogg_opus(
                with_ext(audio.base_path, ".wav"), ogg, self.settings.audio_ffmpeg_timeout
            )
        return ogg

    def _quota_error(self) -> ValidationError:
        mb = str(self.settings.audio_company_quota_bytes // (1024 * 1024))
        return ValidationError(
            f"the company's audio takes its whole quota ({mb} MB): remove some first",
            key="audio_quota",
            quota_mb=mb,
        )


async def audio_users(conn: asyncpg.Connection, company_id: int, name: str) -> list[str]:
    """Greetings, menu prompts and message targets that play this audio."""
    rows = await conn.fetch(
        """SELECT 'number ' || number AS who FROM numbers
            WHERE company_id = $1 AND lower(greeting) = lower($2)
           UNION ALL
           SELECT 'menu ' || name FROM ivr_menus
            WHERE company_id = $1 AND lower(prompt) = lower($2)""",
        company_id,
        name,
    )
    return [r["who"] for r in rows] + await users_of(conn, company_id, [f"message:{name}"])


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        f"there is already audio named {name!r}: choose another name",
        key="audio_name_taken",
        name=name,
    )


def _no_such(audio_id: int) -> NotFound:
    return NotFound(f"there is no audio #{audio_id}", key="no_such_audio", id=str(audio_id))
