"""A Redis database of a test's own, emptied first: company ids restart with every test
database, and what an interrupted run left behind must not leak into this one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from pbx.config import Settings


@asynccontextmanager
async def private_redis(settings: Settings, db: int) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(settings.redis_dsn.rsplit("/", 1)[0] + f"/{db}")
    await redis.flushdb()
    try:
        yield redis
    finally:
        await redis.aclose()
