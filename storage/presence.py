"""Who is on a call now, shared by every engine node through Redis.

A hash per company maps employee id → number of answered calls they are in; the bot
reads it for the employee list, and ring groups skip busy members and order
"least idle" members by the end of their last call.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import redis.asyncio as aioredis


def _key(company_id: int) -> str:
    return f"pbx:oncall:{company_id}"


def _last_key(company_id: int) -> str:
    return f"pbx:lastcall:{company_id}"


class RedisPresence:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def busy(self, company_id: int, employee_ids: list[int], on: bool) -> None:
        if not employee_ids:
            return
        key = _key(company_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for employee_id in employee_ids:
                pipe.hincrby(key, str(employee_id), 1 if on else -1)
            counts = await pipe.execute()
        idle = [str(e) for e, n in zip(employee_ids, counts, strict=True) if n <= 0]
        if idle:
            await self.redis.hdel(key, *idle)
        if not on:
            # When each member last finished a call: "least idle" groups read it.
            now = str(time.time())
            await self.redis.hset(
                _last_key(company_id), mapping=dict.fromkeys((str(e) for e in employee_ids), now)
            )

    async def on_call(self, company_id: int) -> set[int]:
        return {int(k) for k in await self.redis.hkeys(_key(company_id))}

    async def last_calls(self, company_id: int) -> dict[int, datetime]:
        raw = await self.redis.hgetall(_last_key(company_id))
        return {int(k): datetime.fromtimestamp(float(v), UTC) for k, v in raw.items()}


TRUNK_STATES = "pbx:trunk-registration"
EVENTS = "pbx:events"


class RedisTrunkStates:
    """Carrier registration outcomes, written by engine nodes, read by the bot."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put(self, trunk_id: int, ok: bool, status: str) -> None:
        await self.redis.hset(TRUNK_STATES, str(trunk_id), json.dumps({"ok": ok, "status": status}))

    async def get_all(self) -> dict[int, tuple[bool, str]]:
        raw = await self.redis.hgetall(TRUNK_STATES)
        out = {}
        for key, value in raw.items():
            data = json.loads(value)
            out[int(key)] = (bool(data["ok"]), str(data["status"]))
        return out

    async def trunks_changed(self) -> None:
        """Tell every engine node to (re-)register trunks now."""
        await self.redis.publish(EVENTS, "trunks")
