"""The live view against real Redis and PostgreSQL: the board's entries, stale ones
ignored, registrations from Kamailio's location table, who is on a call, queue waiting
counts, and what a supervisor and an employee may see."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import redis.asyncio as aioredis

from pbx.config import Settings
from pbx.engine.live import LiveCall
from pbx.services.cabinet import Cabinet, Role, TgUser
from storage.live import RedisLiveBoard
from storage.presence import RedisPresence
from storage.queues import RedisQueueStore
from tests.support.redis_db import private_redis

_ids = itertools.count(8_450_001)
LIVE_DB = 3  # a Redis database of its own, emptied first (company ids restart per run)


@pytest.fixture
async def redis(base_settings: Settings) -> AsyncIterator[aioredis.Redis]:
    async with private_redis(base_settings, LIVE_DB) as r:
        yield r


def entry(call_id: str, started: datetime, **kw: object) -> LiveCall:
    base: dict[str, object] = dict(
        call_id=call_id,
        direction="inbound",
        caller="79161234567",
        callee="74951234567",
        state="ringing",
        since=started.isoformat(),
        ringing=(),
        talking=(),
        target="",
    )
    base.update(kw)
    return LiveCall(**base)  # type: ignore[arg-type]


async def test_board_round_trip_and_stale_entries(redis: aioredis.Redis) -> None:
    board = RedisLiveBoard(redis)
    now = datetime.now(UTC)
    await board.put(7, entry("a", now - timedelta(minutes=2), ringing=(1, 2)))
    await board.put(7, entry("b", now - timedelta(minutes=1), state="answered", talking=(3,)))
    await board.put(7, entry("old", now - timedelta(days=2)))  # a crashed node's leftover
    await board.put(8, entry("other", now))
    calls = await board.calls(7, now)
    assert [(c.call_id, c.ringing, c.talking) for c in calls] == [
        ("a", (1, 2), ()),
        ("b", (), (3,)),
    ]
    await board.drop(7, "a")
    assert [c.call_id for c in await board.calls(7, now)] == ["b"]
    assert 0 < await redis.ttl("pbx:live:7") <= 12 * 3600
    assert not await redis.hexists("pbx:live:7", "old")  # cleaned up when read


async def test_live_view_scoped_by_role(pool: asyncpg.Pool, redis: aioredis.Redis) -> None:
    cabinet = Cabinet.with_redis(pool, Settings(sip_domain="live.test"), redis)
    user = await cabinet.remember(TgUser(next(_ids), "Owner", None, "en"))
    _, owner = await cabinet.onboard(user, "Live Co", "Europe/Moscow")
    emp = {
        ext: (await cabinet.add_employee(owner, f"E{ext}", ext)).id for ext in ("101", "102", "103")
    }
    await cabinet.add_group(owner, "sales")
    await cabinet.set_group_members(owner, "sales", ["101", "102"])
    await cabinet.add_group(owner, "support")
    await cabinet.set_group_members(owner, "support", ["103"])
    await cabinet.set_queue(owner, "line", {"group": "support"})
    company = owner.company_id

    domain = await pool.fetchval("SELECT sip_domain FROM companies WHERE id = $1", company)
    login = await pool.fetchval(
        "SELECT username FROM sip_devices WHERE company_id = $1 AND employee_id = $2",
        company,
        emp["101"],
    )
    await pool.execute(
        """INSERT INTO location (ruid, username, domain, contact, expires)
           VALUES (md5(random()::text), $1, $2, 'sip:x@192.0.2.1:5060', $3)""",
        login,
        domain,
        datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
    )
    await RedisPresence(redis).busy(company, [emp["102"]], True)
    await RedisQueueStore(redis).join(company, "line", "waiting-call", 1.0)
    board, now = RedisLiveBoard(redis), datetime.now(UTC)
    talking_since = now - timedelta(seconds=30)
    await board.put(company, entry("talk", talking_since, state="answered", talking=(emp["102"],)))
    await board.put(company, entry("ring", now, ringing=(emp["103"],), target="group:support"))

    view = await cabinet.live_view(owner)
    assert [c.call_id for c in view.calls] == ["talk", "ring"]
    people = {e.ext: (e.registered, e.on_call) for e in view.people}
    assert people == {"101": (True, False), "102": (False, True), "103": (False, False)}
    assert view.queues == {"line": 1} and view.names[emp["103"]] == "103 E103"

    async def member(ext: str, role: Role) -> object:
        inv = await cabinet.invite(owner, ext, role)
        u = await cabinet.remember(TgUser(next(_ids), f"U{ext}", None, "en"))
        return await cabinet.join(u, inv.token)

    sup = await member("101", Role.SUPERVISOR)  # sales: 101, 102
    view = await cabinet.live_view(sup)  # type: ignore[arg-type]
    assert [c.call_id for c in view.calls] == ["talk"]
    assert sorted(e.ext for e in view.people) == ["101", "102"] and view.queues == {}
    worker = await member("103", Role.EMPLOYEE)
    view = await cabinet.live_view(worker)  # type: ignore[arg-type]
    assert [c.call_id for c in view.calls] == ["ring"]
    assert [e.ext for e in view.people] == ["103"] and view.queues == {"line": 1}


async def test_redis_down_still_lists_phones(pool: asyncpg.Pool) -> None:
    dead = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    cabinet = Cabinet.with_redis(pool, Settings(sip_domain="live.test"), dead)
    user = await cabinet.remember(TgUser(next(_ids), "Owner", None, "en"))
    _, owner = await cabinet.onboard(user, "Live Down Co", "Europe/Moscow")
    await cabinet.add_employee(owner, "Anna", "101")
    view = await cabinet.live_view(owner)
    assert not view.live_known and view.calls == [] and [e.ext for e in view.people] == ["101"]
    await dead.aclose()
