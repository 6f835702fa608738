"""What the engine reads about scenarios (implements pbx.engine.plans.Scenarios).

Configuration comes from PostgreSQL; who is on a call and when members last talked
come from Redis (shared by every engine node); registrations from Kamailio's
location table, which the edge writes through to the same database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from pbx.config import Settings
from pbx.engine.plans import (
    GroupMember,
    GroupPlan,
    MemberState,
    MenuPlan,
    NumberPlan,
    Prompt,
    QueuePlan,
    Voicemail,
)
from pbx.engine.ringplan import Algorithm, GroupSpec
from pbx.engine.schedule import Schedule, from_json
from pbx.engine.targets import HANGUP, Kind, Target, parse
from pbx.errors import PbxError
from pbx.logging import get_logger
from pbx.services.audio import engine_base
from storage.media import with_ext
from storage.presence import RedisPresence
from storage.recordings import notice_sql

log = get_logger(__name__)

ALAW_BYTES_PER_SECOND = 8000


def _target(text: str | None, default: Target = HANGUP) -> Target:
    if not text:
        return default
    try:
        return parse(text)
    except PbxError:
        log.error("bad_stored_target", target=text)
        return default


def schedule_of(row: asyncpg.Record, tz: str) -> Schedule:
    weekly = row["weekly"]
    special = row["special"]
    weekly = json.loads(weekly) if isinstance(weekly, str) else weekly
    special = json.loads(special) if isinstance(special, str) else special
    return Schedule(
        tz=tz,
        weekly=from_json(weekly),
        holidays=frozenset(row["holidays"]),
        special={datetime.fromisoformat(d).date(): h for d, h in from_json(special).items()},
        override=row["override"],
    )


class PgScenarios:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis | None,
        settings: Settings,
        voicemail_sink: Any = None,
    ) -> None:
        self.pool = pool
        self.presence = RedisPresence(redis) if redis is not None else None
        self.settings = settings
        # Called with a Voicemail once its file is in place (storage.voicemail).
        self.voicemail_sink = voicemail_sink

    async def number_plan(self, company_id: int, number_id: int) -> NumberPlan | None:
        r = await self.pool.fetchrow(
            f"""SELECT n.target_ext, n.greeting, n.open_target, n.closed_target, n.fallback,
                      c.timezone, s.weekly, s.holidays, s.special, s.override, s.id AS sid,
                      {notice_sql("n")} AS notice,
                      (SELECT a.name FROM audio_files a
                        WHERE a.company_id = c.id AND a.kind = 'ringback'
                        ORDER BY a.created_at DESC, a.id DESC LIMIT 1) AS ringback,
                      COALESCE((SELECT u.language FROM memberships m
                                  JOIN tg_users u ON u.tg_id = m.tg_id
                                 WHERE m.company_id = c.id AND m.role = 'owner'
                                 ORDER BY m.created_at LIMIT 1), 'ru') AS lang
                 FROM numbers n JOIN companies c ON c.id = n.company_id
                 LEFT JOIN schedules s ON s.company_id = n.company_id AND s.id = n.schedule_id
                WHERE n.company_id = $1 AND n.id = $2""",
            company_id,
            number_id,
        )
        if r is None:
            return None
        ext_target = Target(Kind.EXT, r["target_ext"]) if r["target_ext"] else HANGUP
        return NumberPlan(
            lang=r["lang"],
            open_target=_target(r["open_target"], ext_target),
            closed_target=_target(r["closed_target"]),
            fallback=_target(r["fallback"]),
            greeting=r["greeting"],
            schedule=schedule_of(r, r["timezone"]) if r["sid"] is not None else None,
            notice=r["notice"],
            ringback=r["ringback"],
        )

    async def group(self, company_id: int, name: str) -> GroupPlan | None:
        g = await self.pool.fetchrow(
            "SELECT * FROM ring_groups WHERE company_id = $1 AND name = $2", company_id, name
        )
        if g is None:
            return None
        rows = await self.pool.fetch(
            """SELECT m.employee_id, x.ext, m.position FROM ring_group_members m
                 JOIN employees e ON e.company_id = m.company_id AND e.id = m.employee_id
                 JOIN extensions x ON x.company_id = m.company_id AND x.employee_id = m.employee_id
                WHERE m.group_id = $1 AND e.enabled
                ORDER BY m.position, x.ext""",
            g["id"],
        )
        spec = GroupSpec(
            Algorithm(g["algorithm"]),
            interval=float(g["interval_s"]),
            timeout=float(g["timeout_s"]),
            cyclic=g["cyclic"],
        )
        members = tuple(GroupMember(r["employee_id"], r["ext"], r["position"]) for r in rows)
        return GroupPlan(g["name"], spec, members, _target(g["fallback"]))

    async def menu(self, company_id: int, name: str) -> MenuPlan | None:
        r = await self.pool.fetchrow(
            "SELECT * FROM ivr_menus WHERE company_id = $1 AND name = $2", company_id, name
        )
        if r is None:
            return None
        options = r["options"]
        options = json.loads(options) if isinstance(options, str) else options
        return MenuPlan(
            name=r["name"],
            prompt=r["prompt"],
            options={d: _target(t) for d, t in options.items()},
            timeout=float(r["timeout_s"]),
            repeats=r["repeats"],
            on_timeout=_target(r["on_timeout"]),
            on_invalid=_target(r["on_invalid"]),
            dial_by_ext=r["dial_by_ext"],
        )

    async def queue(self, company_id: int, name: str) -> QueuePlan | None:
        r = await self.pool.fetchrow(
            """SELECT q.*, g.name AS group_name FROM queues q
                 JOIN ring_groups g ON g.company_id = q.company_id AND g.id = q.group_id
                WHERE q.company_id = $1 AND q.name = $2""",
            company_id,
            name,
        )
        if r is None:
            return None
        return QueuePlan(
            name=r["name"],
            group=r["group_name"],
            max_wait=float(r["max_wait_s"]),
            agent_ring=float(r["agent_ring_s"]),
            announce=float(r["announce_s"]),
            callback=r["callback"],
            fallback=_target(r["fallback"]),
        )

    async def member_states(
        self, company_id: int, members: tuple[GroupMember, ...]
    ) -> dict[int, MemberState]:
        domain = await self.pool.fetchval(
            "SELECT sip_domain FROM companies WHERE id = $1", company_id
        )
        rows = await self.pool.fetch(
            """SELECT DISTINCT username FROM location
                WHERE domain = $1 AND username = ANY($2::text[])
                  AND expires > (now() AT TIME ZONE 'UTC')""",
            domain,
            [m.ext for m in members],
        )
        registered = {r["username"] for r in rows}
        on_call: set[int] = set()
        last: dict[int, datetime] = {}
        if self.presence is not None:
            try:
                on_call = await self.presence.on_call(company_id)
                last = await self.presence.last_calls(company_id)
            except Exception as exc:  # advisory: ring everyone rather than nobody
                log.warning("presence_unavailable", error=repr(exc))
        return {
            m.employee_id: MemberState(
                registered=m.ext in registered,
                on_call=m.employee_id in on_call,
                last_call_end=last.get(m.employee_id),
            )
            for m in members
        }

    async def extensions(self, company_id: int) -> set[str]:
        rows = await self.pool.fetch("SELECT ext FROM extensions WHERE company_id = $1", company_id)
        return {r["ext"] for r in rows}

    async def prompt(self, company_id: int, name: str | None, system: str, lang: str) -> Prompt:
        audio_id = None
        if name is not None:
            audio_id = await self.pool.fetchval(
                "SELECT id FROM audio_files WHERE company_id = $1 AND lower(name) = lower($2)",
                company_id,
                name,
            )
        base = await engine_base(company_id, audio_id, system, lang, self.settings)
        size = with_ext(base, ".8").stat().st_size
        return Prompt(str(base), size / ALAW_BYTES_PER_SECOND)

    def recording_path(self, company_id: int, call_id: str) -> str:
        spool = self.settings.data_dir / "media" / "spool" / str(company_id)
        spool.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        safe = "".join(ch if ch.isalnum() else "_" for ch in call_id)[:64]
        return str(Path(spool, f"{stamp}-{safe}.wav").resolve())

    async def voicemail(self, vm: Voicemail) -> bool:
        if self.voicemail_sink is None:
            log.warning("voicemail_dropped_no_sink", call_id=vm.sip_call_id)
            return False
        return bool(await self.voicemail_sink(vm))
