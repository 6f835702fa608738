"""Bulk export of call recordings: every recording of a period (the filter words of
/calls) the actor may see, packed into one ZIP with an index.csv.

The ZIP is written in a worker thread (ZIP_STORED: OGG/Opus is compressed already) under
`data_dir/exports`, as `recordings_<company>_<expiry>_<random>.zip`, so expired files are
found by name alone. Under TELEGRAM_LIMIT it goes to Telegram as a document; otherwise
the user gets a signed, expiring link served by `GET /exports/<token>` (HMAC-SHA256 over
company id, file name and expiry).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import hmac
import io
import math
import os
import re
import secrets
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import hdrs, web

from pbx.config import Settings
from pbx.errors import NotFound
from pbx.logging import get_logger
from pbx.services.cabinet_base import Actor, Perm, require
from pbx.services.history import CallFilter, filter_sql
from pbx.services.provisioning import talk_seconds
from pbx.services.recordings import listening_scope
from pbx.timefmt import local

log = get_logger(__name__)

TELEGRAM_LIMIT = 50 * 1024 * 1024  # bots may send documents up to 50 MB
LINK_TTL = timedelta(hours=24)
PROGRESS_STEP = 0.1  # report after at least this share of the files ...
PROGRESS_SECONDS = 1.0  # ... or after this long, whichever comes first
ROUTE = "/exports/{token}"
_NAME = re.compile(r"^recordings_(\d+)_(\d+)_[0-9a-f]{16}\.zip$")
_SAFE = re.compile(r"[^0-9A-Za-z+._-]+")
INDEX_COLUMNS = tuple(
    "file call_id sip_call_id started_at direction caller callee result talk_seconds"
    " recording_seconds number".split()
)

Progress = Callable[[int, int], Awaitable[None]]


class LinkError(Exception):
    """A download token that is not ours, was altered or has expired."""


@dataclass(frozen=True)
class ExportRow:
    call_id: int
    sip_call_id: str
    direction: str
    caller: str
    callee: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    result: str
    number: str | None
    path: str  # relative to settings.data_dir
    seconds: float
    timezone: str = "UTC"  # the company's: names and the index read in its local time

    @property
    def arcname(self) -> str:
        """`2026-11-30_1412_inbound_79161234567-101_<call id>.ogg` (the company's time)."""
        when = local(self.started_at, self.timezone).strftime("%Y-%m-%d_%H%M")
        parties = f"{_safe(self.caller)}-{_safe(self.callee)}"
        return f"{when}_{self.direction}_{parties}_{self.call_id}.ogg"


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the ZIP under data_dir/exports
    count: int  # recordings packed
    missing: int  # recordings listed whose file was gone
    size: int  # bytes
    expires_at: datetime
    link: str | None  # set when the ZIP is too big for Telegram

    @property
    def download_name(self) -> str:
        return f"recordings_{datetime.now(UTC):%Y-%m-%d_%H%M}.zip"


def _safe(text: str) -> str:
    return _SAFE.sub("_", text)[:32] or "unknown"


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def public_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.http_host}:{settings.http_port}").rstrip("/")


# ----------------------------------------------------------------------------- links


def _key(settings: Settings) -> bytes:
    if settings.link_secret:
        return settings.link_secret.encode()
    if settings.telegram_token:
        return hashlib.sha256(b"pbx-export-links\0" + settings.telegram_token.encode()).digest()
    raise LinkError("download links are not configured (set PBX_LINK_SECRET)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(settings: Settings, company_id: int, name: str, expires_at: datetime) -> str:
    payload = f"{company_id}|{name}|{int(expires_at.timestamp())}".encode()
    mac = hmac.new(_key(settings), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


@dataclass(frozen=True)
class LinkClaim:
    company_id: int
    name: str
    expires_at: datetime


def verify_token(settings: Settings, token: str, now: datetime) -> LinkClaim:
    """The token's claim if it is ours, unaltered and not expired; LinkError otherwise."""
    try:
        payload_b64, mac_b64 = token.split(".")
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except ValueError:
        raise LinkError("this download link is not valid") from None
    good = hmac.new(_key(settings), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, good):
        raise LinkError("this download link is not valid")
    company, name, expiry = payload.decode().split("|")
    m = _NAME.match(name)
    if m is None or m.group(1) != company:
        raise LinkError("this download link is not valid")
    expires_at = datetime.fromtimestamp(int(expiry), UTC)
    if expires_at <= now:
        raise LinkError("this download link has expired: export again with /recordings_zip")
    return LinkClaim(int(company), name, expires_at)


def add_export_routes(app: web.Application, settings: Settings) -> None:
    """`GET /exports/<token>`: the ZIP behind a valid link; 403 for a bad or expired
    token, 404 when the file is gone."""

    async def download(request: web.Request) -> web.StreamResponse:
        try:
            claim = verify_token(settings, request.match_info["token"], datetime.now(UTC))
        except LinkError as exc:
            return web.Response(status=403, text=f"Forbidden: {exc}\n")
        path = exports_dir(settings) / claim.name
        if not path.is_file():
            return web.Response(
                status=404, text="This export is gone: export again with /recordings_zip\n"
            )
        built = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        filename = f"recordings_{built:%Y-%m-%d_%H%M}.zip"
        return web.FileResponse(
            path,
            headers={
                hdrs.CONTENT_TYPE: "application/zip",
                hdrs.CONTENT_DISPOSITION: f'attachment; filename="{filename}"',
            },
        )

    app.router.add_get(ROUTE, download)


def purge_exports(settings: Settings, now: datetime) -> int:
    """Delete expired exports (and leftovers of interrupted ones); how many were removed."""
    folder = exports_dir(settings)
    if not folder.is_dir():
        return 0
    removed = 0
    stale = (now - LINK_TTL).timestamp()
    for path in folder.iterdir():
        m = _NAME.match(path.name)
        try:
            expired = int(m.group(2)) <= now.timestamp() if m else path.stat().st_mtime < stale
            if expired and path.is_file():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # removed meanwhile (another export purging)
    return removed


# ---------------------------------------------------------------------------- export


class Exporter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        telegram_limit: int = TELEGRAM_LIMIT,
        ttl: timedelta = LINK_TTL,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.telegram_limit = telegram_limit
        self.ttl = ttl

    async def select(
        self, actor: Actor, f: CallFilter, now: datetime | None = None
    ) -> list[ExportRow]:
        """The recordings of calls matching `f` that the actor may see, oldest first;
        only owners, admins and supervisors (their groups' calls) may export."""
        require(actor, Perm.VIEW_ALL_CALLS)
        scope, params = (await listening_scope(self.pool, actor)).sql("c", 1)
        where, values = filter_sql(f, 1 + len(params), now or datetime.now(UTC))
        rows = await self.pool.fetch(
            """SELECT c.id, c.sip_call_id, c.direction, c.caller, c.callee, c.started_at,
                      c.answered_at, c.ended_at, c.result, n.number, r.path, r.seconds
                 FROM recordings r
                 JOIN calls c ON c.sip_call_id = r.sip_call_id AND c.company_id = r.company_id
                 LEFT JOIN numbers n ON n.company_id = c.company_id AND n.id = c.number_id
                WHERE """
            + f"{scope} AND {where} ORDER BY c.started_at, c.id",
            *params,
            *values,
        )
        if not rows:
            raise NotFound("no recordings match this filter", key="export_empty")
        # The columns above in ExportRow's field order.
        return [replace(ExportRow(*r), timezone=actor.timezone) for r in rows]

    async def build(
        self,
        actor: Actor,
        rows: list[ExportRow],
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> ExportResult:
        """Pack `rows` (from `select`) into a ZIP; a link when it is too big for Telegram."""
        require(actor, Perm.VIEW_ALL_CALLS)
        now = now or datetime.now(UTC)
        await asyncio.to_thread(purge_exports, self.settings, now)
        folder = exports_dir(self.settings)
        folder.mkdir(parents=True, exist_ok=True)
        expires_at = now + self.ttl
        name = f"recordings_{actor.company_id}_{int(expires_at.timestamp())}_{secrets.token_hex(8)}.zip"
        dest = folder / name

        loop = asyncio.get_running_loop()
        reports: asyncio.Queue[int | None] = asyncio.Queue()

        def report(done: int) -> None:  # from the worker thread
            loop.call_soon_threadsafe(reports.put_nowait, done)

        job = asyncio.ensure_future(
            asyncio.to_thread(_write_zip, dest, self.settings.data_dir, rows, report)
        )
        job.add_done_callback(lambda _: reports.put_nowait(None))
        while (done := await reports.get()) is not None:
            if progress is not None:
                try:
                    await progress(done, len(rows))
                except Exception as exc:  # progress is cosmetic: the export goes on
                    log.warning("export_progress_failed", error=repr(exc))
        packed, missing = await job
        size = dest.stat().st_size
        link = None
        if size >= self.telegram_limit:
            token = make_token(self.settings, actor.company_id, name, expires_at)
            link = f"{public_url(self.settings)}/exports/{token}"
        log.info(
            "export_built",
            company=actor.company_id,
            files=packed,
            missing=missing,
            bytes=size,
            link=link is not None,
        )
        return ExportResult(dest, packed, missing, size, expires_at, link)

    async def export(
        self, actor: Actor, f: CallFilter, progress: Progress | None = None
    ) -> ExportResult:
        return await self.build(actor, await self.select(actor, f), progress)


def _write_zip(
    dest: Path, data_dir: Path, rows: list[ExportRow], report: Callable[[int], None]
) -> tuple[int, int]:
    """Runs in a worker thread: the recordings (stored) and index.csv (deflated), written
    to a temporary name and renamed, so a link never serves half a file."""
    part = dest.with_name(dest.name + ".part")
    root = data_dir.resolve()
    step = max(1, math.ceil(len(rows) * PROGRESS_STEP))
    last_done, last_at = 0, time.monotonic()
    packed = missing = 0
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(INDEX_COLUMNS)
    try:
        with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as zf:
            for done, row in enumerate(rows, 1):
                arcname = _add(zf, root, row)
                packed, missing = (packed + 1, missing) if arcname else (packed, missing + 1)
                writer.writerow(_index_line(row, arcname))
                now = time.monotonic()
                if (
                    done == len(rows)
                    or done - last_done >= step
                    or now - last_at >= PROGRESS_SECONDS
                ):
                    report(done)
                    last_done, last_at = done, now
            zf.writestr("index.csv", index.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return packed, missing


def _add(zf: zipfile.ZipFile, root: Path, row: ExportRow) -> str:
    """The recording's name in the ZIP; "" when its file is gone (retention or quota may
    delete it meanwhile: such calls are listed in the index without a file)."""
    src = (root / row.path).resolve()
    if not src.is_relative_to(root):
        return ""
    try:
        zf.write(src, row.arcname)  # the source is opened before the entry is begun
    except FileNotFoundError:
        return ""
    return row.arcname


def _index_line(row: ExportRow, arcname: str) -> list[str]:
    return [
        arcname,
        str(row.call_id),
        row.sip_call_id,
        local(row.started_at, row.timezone).isoformat(timespec="seconds"),  # with its offset
        row.direction,
        row.caller,
        row.callee,
        row.result,
        str(talk_seconds(row.answered_at, row.ended_at)),
        f"{row.seconds:.1f}",
        row.number or "",
    ]
