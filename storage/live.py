"""The live board in Redis: a hash per company, call id -> the call as JSON. The key
expires a while after its last change, so a crashed node's calls do not stay forever;
entries older than `STALE` are ignored when read for the same reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from pbx.engine.live import Change, LiveCall

KEY_TTL = 12 * 3600  # seconds after the last change
STALE = timedelta(hours=12)  # no call is shown longer than this


def _key(company_id: int) -> str:
    return f"pbx:live:{company_id}"


class RedisLiveBoard:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def apply(self, changes: list[Change]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for company_id, call_id, entry in changes:
                if entry is None:
                    pipe.hdel(_key(company_id), call_id)
                else:
                    pipe.hset(_key(company_id), call_id, json.dumps(entry.to_dict()))
                    pipe.expire(_key(company_id), KEY_TTL)
            await pipe.execute()

    async def put(self, company_id: int, entry: LiveCall) -> None:
        await self.apply([(company_id, entry.call_id, entry)])

    async def drop(self, company_id: int, call_id: str) -> None:
        await self.apply([(company_id, call_id, None)])

    async def calls(self, company_id: int, now: datetime | None = None) -> list[LiveCall]:
        """The company's calls in progress, oldest first."""
        now = now or datetime.now(UTC)
        raw = await self.redis.hgetall(_key(company_id))
        out, stale = [], []
        for call_id, value in raw.items():
            try:
                entry = LiveCall.from_dict(json.loads(value))
            except (ValueError, KeyError, TypeError):
                stale.append(call_id)  # unreadable (another version): clean it up
                continue
            if now - entry.started_at < STALE:
                out.append(entry)
            else:
                stale.append(call_id)  # a crashed node's call: gone for good
        if stale:
            await self.redis.hdel(_key(company_id), *stale)
        return sorted(out, key=lambda e: e.since)
