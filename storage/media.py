"""Company audio on disk and its rows in `audio_files`.

Layout under the media root (`<data_dir>/media`): `<company_id>/<audio_id>.{wav,8,0,ogg}`
for a company's audio, `system/<lang>/<name>.*` for the shipped prompts made ready for
the engine, `.tmp/` for conversions in progress (on the same file system, so moving a
finished file into place is one atomic rename).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

# What each stored audio consists of: the 16-bit 8 kHz mono master, the raw PCMA (.8)
# and PCMU (.0) payload files the media relay plays, and Opus in OGG for Telegram.
EXTENSIONS = (".wav", ".8", ".0", ".ogg")

_COLS = "id, company_id, kind, name, duration_ms, size_bytes, base_path, created_by, created_at"


@dataclass(frozen=True, slots=True)
class AudioRow:
    id: int
    company_id: int
    kind: str
    name: str
    duration_ms: int
    size_bytes: int
    base_path: str  # relative to the media root, without extension
    created_by: int | None
    created_at: datetime


def _row(r: asyncpg.Record) -> AudioRow:
    return AudioRow(
        id=r["id"],
        company_id=r["company_id"],
        kind=r["kind"],
        name=r["name"],
        duration_ms=r["duration_ms"],
        size_bytes=r["size_bytes"],
        base_path=r["base_path"],
        created_by=r["created_by"],
        created_at=r["created_at"],
    )


def with_ext(base: Path, ext: str) -> Path:
    """`base` + extension (not Path.with_suffix: a base such as `7/12` has no suffix to
    replace, but a prompt name could contain a dot)."""
    return base.parent / f"{base.name}{ext}"


class MediaStore:
    """Files of company audio; the database row is the source of truth for what exists."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()  # the engine may run with another working directory

    @property
    def tmp_root(self) -> Path:
        path = self.root / ".tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def system_dir(self, lang: str) -> Path:
        return self.root / "system" / lang

    @staticmethod
    def relative_base(company_id: int, audio_id: int) -> str:
        # Derived from the ids alone, so the engine finds a company's audio without a query
        # and an id of another company never resolves inside this company's folder.
        return f"{int(company_id)}/{int(audio_id)}"

    def absolute(self, relative_base: str) -> Path:
        return self.root / relative_base

    def workdir(self) -> Path:
        """A fresh folder for one conversion (the caller removes it)."""
        return Path(tempfile.mkdtemp(prefix="conv-", dir=self.tmp_root))

    def place(self, files: Mapping[str, Path], relative_base: str) -> None:
        """Move finished files (extension → path) into place; all or none."""
        base = self.absolute(relative_base)
        base.parent.mkdir(parents=True, exist_ok=True)
        placed: list[Path] = []
        try:
            for ext, src in files.items():
                dest = with_ext(base, ext)
                os.replace(src, dest)
                placed.append(dest)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise

    def remove(self, relative_base: str) -> None:
        base = self.absolute(relative_base)
        for ext in EXTENSIONS:
            with_ext(base, ext).unlink(missing_ok=True)

    def purge_company(self, company_id: int) -> None:
        """Every file of a deleted company (its rows went with ON DELETE CASCADE)."""
        shutil.rmtree(self.root / str(int(company_id)), ignore_errors=True)


async def next_id(conn: asyncpg.Connection) -> int:
    """Drawn before the insert: the files are named after the id."""
    value = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('audio_files', 'id'))")
    return int(value)


async def insert(
    conn: asyncpg.Connection,
    audio_id: int,
    company_id: int,
    kind: str,
    name: str,
    duration_ms: int,
    size_bytes: int,
    base_path: str,
    created_by: int | None,
) -> AudioRow:
    r = await conn.fetchrow(
        f"""INSERT INTO audio_files
                (id, company_id, kind, name, duration_ms, size_bytes, base_path, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING {_COLS}""",
        audio_id,
        company_id,
        kind,
        name,
        duration_ms,
        size_bytes,
        base_path,
        created_by,
    )
    assert r is not None
    return _row(r)


async def list_for(conn: asyncpg.Connection, company_id: int) -> list[AudioRow]:
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM audio_files WHERE company_id = $1 ORDER BY kind, lower(name)",
        company_id,
    )
    return [_row(r) for r in rows]


async def get(conn: asyncpg.Connection, company_id: int, audio_id: int) -> AudioRow | None:
    r = await conn.fetchrow(
        f"SELECT {_COLS} FROM audio_files WHERE company_id = $1 AND id = $2",
        company_id,
        audio_id,
    )
    return _row(r) if r else None


async def delete(conn: asyncpg.Connection, company_id: int, audio_id: int) -> AudioRow | None:
    r = await conn.fetchrow(
        f"DELETE FROM audio_files WHERE company_id = $1 AND id = $2 RETURNING {_COLS}",
        company_id,
        audio_id,
    )
    return _row(r) if r else None


async def name_taken(conn: asyncpg.Connection, company_id: int, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM audio_files WHERE company_id = $1 AND lower(name) = lower($2))",
            company_id,
            name,
        )
    )


async def total_bytes(conn: asyncpg.Connection, company_id: int) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(sum(size_bytes), 0) FROM audio_files WHERE company_id = $1", company_id
    )
    return int(value)
