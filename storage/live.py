"""The live board in Redis: a hash per company, call id -> the call as JSON. The key
expires a while after its last change, so a crashed node's calls do not stay forever;
entries older than `STALE` are ignored when read for the same reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from pbx.engine.live import LiveCall

KEY_TTL = 12 * 3600  # seconds after the last change
STALE = timedelta(hours=12)  # no call is shown longer than this


def _key(company_id: int) -> str:
    return f"pbx:live:{company_id}"


class RedisLiveBoard:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def put(self, company_id: int, entry: LiveCall) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key(company_id), entry.call_id, json.dumps(entry.to_dict()))
            pipe.expire(_key(company_id), KEY_TTL)
            await pipe.execute()

    async def drop(self, company_id: int, call_id: str) -> None:
        await self.redis.hdel(_key(company_id), call_id)

    async def calls(self, company_id: int, now: datetime | None = None) -> list[LiveCall]:
        """The company's calls in progress, oldest first."""
        now = now or datetime.now(UTC)
        raw = await self.redis.hgetall(_key(company_id))
        out = []
        for value in raw.values():
            try:
                entry = LiveCall.from_dict(json.loads(value))
            except (ValueError, KeyError, TypeError):
                continue  # written by another version: skip rather than fail the view
            if now - entry.started_at < STALE:
                out.append(entry)
        return sorted(out, key=lambda e: e.since)
