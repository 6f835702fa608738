"""`/now`: the company at this moment — calls in progress (ringing, talking, in a menu
or a queue), who is registered and who is on a call, and callers waiting per queue.

Scope as everywhere (`pbx.services.access`): owners and admins see everything; a
supervisor the calls, people and queues of their groups; an employee their own calls
and their own phone, and the queues of the groups they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pbx.engine.live import LiveCall
from pbx.services.access import CallScope, call_scope
from pbx.services.cabinet_base import Actor, CabinetBase
from storage.employees import Employee
from storage.live import RedisLiveBoard
from storage.queues import RedisQueueStore


@dataclass(frozen=True)
class LiveView:
    calls: list[LiveCall]
    people: list[Employee]  # with `registered` and `on_call`
    names: dict[int, str]  # employee id -> "101 Anna", for the calls' ringing/talking
    queues: dict[str, int]  # queue name -> callers waiting
    live_known: bool  # False without Redis: calls and queues cannot be shown


def _visible(scope: CallScope, call: LiveCall, caller_ids: set[int]) -> bool:
    if scope.employees is None:
        return True
    mine = set(scope.employees)
    involved = set(call.ringing) | set(call.talking) | caller_ids
    return bool(mine & involved) or call.target in scope.group_targets


class LiveArea(CabinetBase):
    redis: aioredis.Redis | None = None  # set by Cabinet.with_redis

    async def live_view(self, actor: Actor) -> LiveView:
        scope = await call_scope(self.pool, actor)
        everyone = await self.prov.list_employees(actor.company_id)
        try:
            busy = await self.presence.on_call(actor.company_id) if self.presence else set()
        except (RedisError, OSError):
            busy = set()  # Redis is down: phones still show, calls cannot
        everyone = [replace(e, on_call=e.id in busy) for e in everyone]
        names = {e.id: f"{e.ext or '—'} {e.name}" for e in everyone}
        people = everyone
        if scope.employees is not None:
            people = [e for e in everyone if e.id in scope.employees]
        redis = self.redis
        if redis is None:
            return LiveView([], people, names, {}, live_known=False)
        try:
            calls = await RedisLiveBoard(redis).calls(actor.company_id)
        except (RedisError, OSError):
            return LiveView([], people, names, {}, live_known=False)
        ext_of = {e.ext: e.id for e in everyone}
        calls = [c for c in calls if _visible(scope, c, {ext_of.get(c.caller, -1)})]
        rows = await self.pool.fetch(
            """SELECT q.name FROM queues q WHERE q.company_id = $1
                  AND ($2::bigint[] IS NULL OR EXISTS (
                       SELECT 1 FROM ring_group_members m
                        WHERE m.group_id = q.group_id AND m.employee_id = ANY($2::bigint[])))
                ORDER BY q.name""",
            actor.company_id,
            list(scope.employees) if scope.employees is not None else None,
        )
        store = RedisQueueStore(redis)
        try:
            queues = {r["name"]: await store.waiting(actor.company_id, r["name"]) for r in rows}
        except (RedisError, OSError):
            queues = {}
        return LiveView(calls, people, names, queues, live_known=True)
