"""Queue order and agent offers in Redis (implements pbx.engine.plans.QueueStore).

A sorted set per queue holds the waiting entries by the time they joined (a caller's
call id, or a callback entry that outlives the call); a key per agent, with a time
to live, says which entry the agent is being offered, so two callers never ring the
same agent at once, across engine nodes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import cast

import redis.asyncio as aioredis

from pbx.engine.dialout import DialRequest

QUEUES = "pbx:queues"  # "company|name" of every queue that may have entries

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _queue_key(company_id: int, queue: str) -> str:
    return f"pbx:queue:{company_id}:{queue}"


def _agent_key(company_id: int, employee_id: int) -> str:
    return f"pbx:agent:{company_id}:{employee_id}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisQueueStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def join(self, company_id: int, queue: str, entry: str, at: float) -> None:
        await self.put_back(company_id, queue, entry, at)

    async def put_back(self, company_id: int, queue: str, entry: str, at: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(_queue_key(company_id, queue), {entry: at})
            pipe.sadd(QUEUES, f"{company_id}|{queue}")
            await pipe.execute()

    async def leave(self, company_id: int, queue: str, entry: str) -> bool:
        return bool(await self.redis.zrem(_queue_key(company_id, queue), entry))

    async def rank(self, company_id: int, queue: str, entry: str) -> int | None:
        rank = await self.redis.zrank(_queue_key(company_id, queue), entry)
        return None if rank is None else int(rank)  # type: ignore[arg-type]

    async def entries(self) -> list[tuple[int, str, str, float]]:
        out: list[tuple[int, str, str, float]] = []
        for raw in await self.redis.smembers(QUEUES):
            company, _, name = _text(raw).partition("|")
            key = _queue_key(int(company), name)
            items = cast(
                list[tuple[bytes, float]], await self.redis.zrange(key, 0, -1, withscores=True)
            )
            out += [(int(company), name, _text(e), float(score)) for e, score in items]
        return out

    async def reserve(self, company_id: int, employee_id: int, entry: str, ttl: float) -> bool:
        key = _agent_key(company_id, employee_id)
        return bool(await self.redis.set(key, entry, nx=True, px=int(ttl * 1000)))

    async def release(self, company_id: int, employee_id: int, entry: str) -> None:
        await self.redis.eval(_RELEASE, 1, _agent_key(company_id, employee_id), entry)

    async def reserved(self, company_id: int) -> set[int]:
        prefix = f"pbx:agent:{company_id}:"
        return {
            int(_text(key)[len(prefix) :])
            async for key in self.redis.scan_iter(match=prefix + "*", count=200)
        }

    async def waiting(self, company_id: int, queue: str) -> int:
        return int(await self.redis.zcard(_queue_key(company_id, queue)))


DIAL_REQUESTS = "pbx:dial-requests"


async def request_dial(redis: aioredis.Redis, req: DialRequest) -> None:
    """Ask whichever engine node is free to place a call (the bot never talks SIP)."""
    await redis.lpush(DIAL_REQUESTS, json.dumps(asdict(req)))


async def next_dial(redis: aioredis.Redis, timeout: float) -> DialRequest | None:
    item = await redis.brpop([DIAL_REQUESTS], timeout=timeout)
    if item is None:
        return None
    return DialRequest(**json.loads(_text(item[1])))
