"""Call queues from the cabinet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet_base import Actor, Perm, require
from pbx.services.options import entity_name, flag, number_in, parse_options
from pbx.services.scenarios import ScenarioArea, target_parser
from storage.queues import RedisQueueStore


@dataclass(frozen=True)
class QueueInfo:
    name: str
    group: str
    max_wait: int
    agent_ring: int
    announce: int
    callback: bool
    fallback: str
    waiting: int | None  # callers in line now (None when not known)


class QueueArea(ScenarioArea):
    redis: aioredis.Redis | None = None  # set by Cabinet.with_redis

    async def list_queues(self, actor: Actor) -> list[QueueInfo]:
        require(actor, Perm.MANAGE_NUMBERS)
        rows = await self.pool.fetch(
            """SELECT q.*, g.name AS group_name FROM queues q
                 JOIN ring_groups g ON g.company_id = q.company_id AND g.id = q.group_id
                WHERE q.company_id = $1 ORDER BY q.name""",
            actor.company_id,
        )
        return [await self._queue_info(r) for r in rows]

    async def _queue_info(self, r: Any) -> QueueInfo:
        waiting = None
        if self.redis is not None:
            waiting = await RedisQueueStore(self.redis).waiting(r["company_id"], r["name"])
        return QueueInfo(
            r["name"],
            r["group_name"],
            r["max_wait_s"],
            r["agent_ring_s"],
            r["announce_s"],
            r["callback"],
            r["fallback"],
            waiting,
        )

    async def set_queue(self, actor: Actor, name: str, opts: dict[str, str]) -> QueueInfo:
        """group=NAME (required to create), max_wait, ring, announce, callback, fallback."""
        require(actor, Perm.MANAGE_NUMBERS)
        name = entity_name(name)
        async with self._tx() as conn:
            values = await parse_options(
                opts,
                {
                    "group": ("group_id", lambda raw: self._group_id(conn, actor, raw)),
                    "max_wait": ("max_wait_s", lambda raw: number_in(raw, 10, 3600, "max_wait")),
                    "ring": ("agent_ring_s", lambda raw: number_in(raw, 5, 120, "ring")),
                    "announce": ("announce_s", lambda raw: number_in(raw, 10, 600, "announce")),
                    "callback": ("callback", flag),
                    "fallback": ("fallback", target_parser(conn, actor.company_id)),
                },
            )
            exists = await conn.fetchval(
                "SELECT id FROM queues WHERE company_id = $1 AND name = $2 FOR UPDATE",
                actor.company_id,
                name,
            )
            limits = await self._limits(conn, actor.company_id)
            if values.get("callback"):
                limits.feature("queue_callback")
            if exists is None:
                limits.feature("queue")
                if "group_id" not in values:
                    raise ValidationError(
                        "a new queue needs group=NAME (its agents)", key="queue_needs_group"
                    )
                await conn.execute(
                    "INSERT INTO queues (company_id, name, group_id) VALUES ($1, $2, $3)",
                    actor.company_id,
                    name,
                    values["group_id"],
                )
            if values:
                sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(values, start=3))
                await conn.execute(
                    f"UPDATE queues SET {sets} WHERE company_id = $1 AND name = $2",
                    actor.company_id,
                    name,
                    *values.values(),
                )
            await self._audit(conn, actor, actor.company_id, "queue.set", name, new=opts)
            row = await conn.fetchrow(
                """SELECT q.*, g.name AS group_name FROM queues q
                     JOIN ring_groups g ON g.company_id = q.company_id AND g.id = q.group_id
                    WHERE q.company_id = $1 AND q.name = $2""",
                actor.company_id,
                name,
            )
        return await self._queue_info(row)

    async def _group_id(self, conn: asyncpg.Connection, actor: Actor, raw: str) -> int:
        gid = await conn.fetchval(
            "SELECT id FROM ring_groups WHERE company_id = $1 AND name = $2",
            actor.company_id,
            raw.strip().lower(),
        )
        if gid is None:
            raise NotFound(f"no group {raw}", key="no_such_group", name=raw)
        return int(gid)

    async def remove_queue(self, actor: Actor, name: str) -> None:
        await self.remove_named(actor, "queues", "queue", name)
