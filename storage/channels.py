"""Channel leases in Redis: a sorted set per company number, member = call id,
score = when the lease lapses (Redis's own clock, so nodes' clocks need not agree)."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

LEASE = 90.0  # seconds; engine nodes renew every LEASE / 3

# KEYS[1] the number's set; ARGV: call id, limit, lease seconds.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) * 1000))
return 1
"""

# KEYS: the numbers' sets; ARGV[1] lease seconds, then one call id per key.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[1]) * 1000))
end
return #KEYS
"""


def _key(number_id: int) -> str:
    return f"pbx:channels:{number_id}"


class RedisChannelLeases:
    def __init__(self, redis: aioredis.Redis, lease: float = LEASE) -> None:
        self.redis = redis
        self.lease = lease
        self._take = redis.register_script(_TAKE)
        self._renew = redis.register_script(_RENEW)

    async def take(self, number_id: int, call_id: str, limit: int) -> bool:
        return bool(await self._take(keys=[_key(number_id)], args=[call_id, limit, self.lease]))

    async def give_back(self, number_id: int, call_id: str) -> None:
        await self.redis.zrem(_key(number_id), call_id)

    async def renew(self, held: Mapping[str, int]) -> None:
        # A lease that lapsed meanwhile is taken again: the call is still up.
        keys = [_key(n) for n in held.values()]
        await self._renew(keys=keys, args=[self.lease, *held])

    async def count(self, number_id: int) -> int:
        """Live leases of a number (tests, diagnostics)."""
        now = float((await self.redis.time())[0])
        return int(await self.redis.zcount(_key(number_id), now, "+inf"))
