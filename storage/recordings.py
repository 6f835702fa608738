"""Call recordings on disk and in PostgreSQL: which calls are recorded (the company's
policy), keeping a finished file, and the storage quota and retention.

Files live under `<data_dir>/recordings/<company>/<yyyy-mm>/` as OGG/Opus; the row keeps
the path relative to data_dir. Quota and retention run in one transaction per company
(the company row locked), and files are unlinked only after the rows are gone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from pbx.engine.recording import RecordingRequest
from pbx.logging import get_logger
from pbx.services.audio import to_ogg_opus

log = get_logger(__name__)

PACK_MB = 5 * 1024  # seeds 000/004: storage packs of +5 GB
MAX_PACKS = 9
MB = 1024 * 1024


def notice_sql(numbers: str) -> str:
    """Whether a call to the company number (row alias `numbers`) may be recorded, so
    the caller hears the notice before anyone answers: total recording, or a selective
    rule that can apply to an inbound call of this number (the number itself, an
    employee's or a group's)."""
    return f"""EXISTS (SELECT 1 FROM companies rc
                 WHERE rc.id = {numbers}.company_id AND rc.recording_notice
                   AND (rc.recording_mode = 'all'
                        OR (rc.recording_mode = 'selective' AND EXISTS (
                             SELECT 1 FROM recording_rules rr
                              WHERE rr.company_id = rc.id AND rr.inbound
                                AND (rr.kind <> 'number' OR rr.ref_id = {numbers}.id)))))"""


_MATCH_SQL = """SELECT c.recording_mode,
       EXISTS (SELECT 1 FROM recording_rules r
                WHERE r.company_id = c.id AND (
                      (r.kind = 'number' AND r.ref_id = $2)
                   OR (r.kind = 'employee' AND r.outbound AND r.ref_id = $3)
                   OR (r.kind = 'employee' AND r.inbound AND r.ref_id = $4)
                   OR (r.kind = 'group' AND r.inbound AND EXISTS (
                         SELECT 1 FROM ring_groups g WHERE g.id = r.ref_id AND (
                                'group:' || g.name = $5
                             OR EXISTS (SELECT 1 FROM ring_group_members m
                                         WHERE m.group_id = g.id AND m.employee_id = $4)))))
       ) AS matched
  FROM companies c WHERE c.id = $1"""


@dataclass(frozen=True)
class Usage:
    bytes: int
    seconds: float
    files: int
    quota_bytes: int
    max_seconds: int | None
    packs: int
    auto_pack: bool
    retention_days: int


@dataclass(frozen=True)
class SweepResult:
    deleted: int = 0
    freed: int = 0
    packs_added: int = 0


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120]


class RecordingStore:
    """The engine's `RecordingPolicy` and the cabinet's storage keeper."""

    def __init__(self, pool: asyncpg.Pool, data_dir: Path) -> None:
        self.pool = pool
        self.data_dir = data_dir.resolve()  # the engine may run from another directory

    # --- the engine's side ---------------------------------------------------------
    async def path_for(self, req: RecordingRequest, now: datetime) -> str | None:
        """The WAV to record this answered call into, or None if it is not recorded."""
        r = await self.pool.fetchrow(
            _MATCH_SQL,
            req.company_id,
            req.number_id,
            req.caller_employee_id,
            req.callee_employee_id,
            req.target,
        )
        if r is None or r["recording_mode"] == "off":
            return None
        if r["recording_mode"] == "selective" and not r["matched"]:
            return None
        folder = self.data_dir / "recordings" / str(req.company_id) / now.strftime("%Y-%m")
        return str(folder / f"{now:%d-%H%M%S}-{_safe(req.sip_call_id)}.wav")

    async def recorded(
        self, company_id: int, sip_call_id: str, wav: str, seconds: float, now: datetime
    ) -> None:
        """Compress a finished recording, keep it, then hold the company to its quota."""
        wav_path = Path(wav)
        ogg = wav_path.with_suffix(".ogg")
        try:
            if seconds <= 0:
                return  # nothing was said: nothing to keep
            await to_ogg_opus(wav_path, ogg)
            size = (await asyncio.to_thread(ogg.stat)).st_size
            inserted = await self.pool.fetchval(
                """INSERT INTO recordings (company_id, sip_call_id, path, bytes, seconds, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sip_call_id) DO NOTHING
                   RETURNING id""",
                company_id,
                sip_call_id,
                str(ogg.relative_to(self.data_dir)),
                size,
                seconds,
                now,
            )
            if inserted is None:  # kept already (a retried event)
                await asyncio.to_thread(ogg.unlink, missing_ok=True)
        finally:
            await asyncio.to_thread(wav_path.unlink, missing_ok=True)
        await self.enforce_quota(company_id, now)

    # --- quota and retention ---------------------------------------------------------
    async def usage(self, company_id: int) -> Usage:
        r = await self.pool.fetchrow(
            """SELECT c.storage_quota_mb, c.storage_max_minutes, c.storage_packs,
                      c.storage_auto_pack, c.retention_days,
                      COALESCE(sum(r.bytes), 0)::bigint AS bytes,
                      COALESCE(sum(r.seconds), 0)::float8 AS seconds, count(r.id) AS files
                 FROM companies c LEFT JOIN recordings r ON r.company_id = c.id
                WHERE c.id = $1 GROUP BY c.id""",
            company_id,
        )
        assert r is not None, company_id
        return Usage(
            bytes=r["bytes"],
            seconds=r["seconds"],
            files=r["files"],
            quota_bytes=(r["storage_quota_mb"] + PACK_MB * r["storage_packs"]) * MB,
            max_seconds=r["storage_max_minutes"] * 60 if r["storage_max_minutes"] else None,
            packs=r["storage_packs"],
            auto_pack=r["storage_auto_pack"],
            retention_days=r["retention_days"],
        )

    async def enforce_quota(self, company_id: int, now: datetime) -> SweepResult:
        """Over quota: add a pack if the company asked for that (and may have one more),
        else delete the oldest recordings until it fits."""
        async with self.pool.acquire() as conn, conn.transaction():
            c = await conn.fetchrow(
                """SELECT storage_quota_mb, storage_max_minutes, storage_packs, storage_auto_pack
                     FROM companies WHERE id = $1 FOR UPDATE""",
                company_id,
            )
            if c is None:
                return SweepResult()
            totals = await conn.fetchrow(
                """SELECT COALESCE(sum(bytes), 0)::bigint AS used,
                          COALESCE(sum(seconds), 0)::float8 AS seconds
                     FROM recordings WHERE company_id = $1""",
                company_id,
            )
            assert totals is not None
            used, seconds = totals["used"], totals["seconds"]
            packs = c["storage_packs"]
            max_seconds = c["storage_max_minutes"] * 60 if c["storage_max_minutes"] else None
            added = 0
            # Packs buy bytes, not minutes: a minutes cap always deletes.
            while (
                c["storage_auto_pack"]
                and packs < MAX_PACKS
                and used > (c["storage_quota_mb"] + PACK_MB * packs) * MB
            ):
                packs += 1
                added += 1
            if added:
                await conn.execute(
                    "UPDATE companies SET storage_packs = $2 WHERE id = $1", company_id, packs
                )
                await storage_event(conn, company_id, now, "pack_added", added, 0)
            over_bytes = used - (c["storage_quota_mb"] + PACK_MB * packs) * MB
            over_seconds = seconds - max_seconds if max_seconds is not None else 0.0
            doomed: list[asyncpg.Record] = []
            if over_bytes > 0 or over_seconds > 0:
                # The oldest first, as many as it takes: a row goes while what the rows
                # before it free is still short of the excess.
                doomed = await conn.fetch(
                    """DELETE FROM recordings WHERE id IN (
                         SELECT id FROM (
                           SELECT id, sum(bytes) OVER w - bytes AS before_b,
                                  sum(seconds) OVER w - seconds AS before_s
                             FROM recordings WHERE company_id = $1
                           WINDOW w AS (ORDER BY created_at, id)) t
                          WHERE t.before_b < $2 OR t.before_s < $3)
                       RETURNING path, bytes""",
                    company_id,
                    over_bytes,
                    over_seconds,
                )
            if doomed:
                freed = sum(r["bytes"] for r in doomed)
                await storage_event(conn, company_id, now, "quota_deleted", len(doomed), freed)
        self._unlink(r["path"] for r in doomed)
        return SweepResult(len(doomed), sum(r["bytes"] for r in doomed), added)

    async def sweep_retention(self, now: datetime) -> SweepResult:
        """Delete every recording older than its company's retention (the daily job)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """DELETE FROM recordings r USING companies c
                    WHERE c.id = r.company_id
                      AND r.created_at < $1::timestamptz - make_interval(days => c.retention_days)
                   RETURNING r.company_id, r.path, r.bytes""",
                now,
            )
            per: dict[int, list[int]] = {}
            for r in rows:
                per.setdefault(r["company_id"], []).append(r["bytes"])
            for company_id, sizes in per.items():
                await storage_event(
                    conn, company_id, now, "retention_deleted", len(sizes), sum(sizes)
                )
        self._unlink(r["path"] for r in rows)
        return SweepResult(len(rows), sum(r["bytes"] for r in rows))

    def _unlink(self, paths: Iterable[str]) -> None:
        for rel in paths:
            try:
                (self.data_dir / rel).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("recording_unlink_failed", path=rel, error=repr(exc))

    def file(self, rel: str) -> Path:
        return self.data_dir / rel


async def storage_event(
    conn: asyncpg.Connection, company_id: int, now: datetime, kind: str, count: int, size: int
) -> None:
    await conn.execute(
        """INSERT INTO storage_events (company_id, at, kind, count, bytes)
           VALUES ($1, $2, $3, $4, $5)""",
        company_id,
        now,
        kind,
        count,
        size,
    )
