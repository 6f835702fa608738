"""Channels per company number across engine nodes, against real Redis: two call
managers share one lease store, leases lapse when a node dies, and a Redis outage falls
back to the node's own count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pbx.config import Settings
from pbx.engine.events import CallerGone, CallOffered
from pbx.engine.routing import Did
from storage.channels import RedisChannelLeases
from tests.support.redis_db import private_redis
from tests.support.wait import eventually
from tests.unit.test_call_logic import CARRIER, Harness

CHANNELS_DB = 5  # a Redis database of its own, emptied first
NUMBER = 7


@pytest.fixture
async def redis(base_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    async with private_redis(base_settings, CHANNELS_DB) as r:
        yield r


def offer(call_id: str) -> CallOffered:
    return CallOffered(
        call_id, "74951234567", "203.0.113.1", "79990001122", CARRIER, None, CARRIER, 5060
    )


def node(leases: RedisChannelLeases | None, channels: int) -> Harness:
    h = Harness(channels=leases)
    h.directory.did_ = Did(NUMBER, 1, "74951234567", 5, "102", channels=channels)
    return h


def rang(h: Harness) -> list[str]:
    return [c[1] for c in h.sig.commands if c[0] == "originate"]


async def test_leases_take_refuse_give_back_and_lapse(redis: aioredis.Redis) -> None:
    leases = RedisChannelLeases(redis)
    assert await leases.take(NUMBER, "a", 2) and await leases.take(NUMBER, "b", 2)
    assert await leases.take(NUMBER, "a", 2)  # the same call again: still its channel
    assert not await leases.take(NUMBER, "c", 2)
    assert await leases.take(NUMBER + 1, "c", 2)  # another number has its own channels
    await leases.give_back(NUMBER, "a")
    assert await leases.take(NUMBER, "c", 2) and await leases.count(NUMBER) == 2

    short = RedisChannelLeases(redis, lease=0.3)  # a node that died holding a channel
    assert await short.take(NUMBER + 2, "dead", 1)
    assert not await short.take(NUMBER + 2, "next", 1)

    async def lapsed() -> bool:
        return await short.count(NUMBER + 2) == 0

    await eventually(lapsed, timeout=5)
    assert await short.take(NUMBER + 2, "next", 1)
    # A live call whose lease lapsed (say Redis was away) takes it back when renewed.
    await eventually(lapsed, timeout=5)
    await short.renew({"next": NUMBER + 2})
    assert await short.count(NUMBER + 2) == 1


async def test_two_nodes_share_the_plans_channels(redis: aioredis.Redis) -> None:
    a, b = node(RedisChannelLeases(redis), 1), node(RedisChannelLeases(redis), 1)
    await a.feed(offer("in-1"))
    assert rang(a) == ["in-1"]
    await b.feed(offer("in-2"))  # the other node: the number's one channel is taken
    assert rang(b) == [] and ("reject", "in-2", 486) in b.sig.commands
    assert [r.hangup_cause for r in b.records] == ["channels_busy"]
    await a.feed(CallerGone("in-1"))  # the call ends on node A: its lease goes
    await b.feed(offer("in-3"))
    assert rang(b) == ["in-3"]
    assert await RedisChannelLeases(redis).count(NUMBER) == 1


async def test_without_redis_a_node_counts_its_own_calls() -> None:
    dead = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        h = node(RedisChannelLeases(dead), 1)
        await h.feed(offer("in-1"), offer("in-2"))
        assert rang(h) == ["in-1"] and ("reject", "in-2", 486) in h.sig.commands
        await h.feed(CallerGone("in-1"), offer("in-3"))
        assert rang(h) == ["in-1", "in-3"]
    finally:
        await dead.aclose()
