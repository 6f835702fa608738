""" "Call back" from a missed-call alert: the PBX rings the employee first (their phone,
or their mobile through the company's trunk), then the client.

The request goes onto a Redis list that one engine node pops (the bot never talks SIP).
Before that, what would make the call silently impossible is said instead: no phone
registered (then the mobile is offered, if the employee has one), no trunk to call out.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from pbx.engine.dialout import DialRequest
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet_base import Actor, CabinetBase
from storage import employees
from storage.queues import request_dial


@dataclass(frozen=True)
class CallBack:
    client: str  # the number the PBX will dial once the employee answers
    placed: bool  # the request went to the engine: the employee's phone (or mobile) rings
    mobile: str | None  # the employee's mobile (offered when their phone is not registered)


class CallBackArea(CabinetBase):
    redis: aioredis.Redis | None = None  # set by Cabinet.with_redis

    async def call_back(self, actor: Actor, call_id: int, to_mobile: bool = False) -> CallBack:
        """Ring the actor's phone (or, with `to_mobile`, their mobile), then the client of
        call `call_id`. When the phone is not registered nothing is placed: the result
        says so and carries the mobile to offer instead."""
        if actor.employee_id is None:
            raise ValidationError("you have no phone profile in this company", key="no_profile")
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT caller, direction FROM calls WHERE company_id = $1 AND id = $2",
                actor.company_id,
                call_id,
            )
            me = await employees.get(conn, actor.company_id, actor.employee_id)
            trunk = await conn.fetchval(
                """SELECT 1 FROM trunks t JOIN numbers n
                       ON n.company_id = t.company_id AND n.trunk_id = t.id
                    WHERE t.company_id = $1 AND t.enabled LIMIT 1""",
                actor.company_id,
            )
        if row is None or row["direction"] != "inbound" or not row["caller"].isdigit():
            raise NotFound(f"no call {call_id} to call back", key="no_such_call", id=str(call_id))
        if me is None or me.ext is None:
            raise ValidationError("you have no phone profile in this company", key="no_profile")
        client, mobile = str(row["caller"]), me.mobile or None
        if not trunk:
            raise ValidationError("the company has no trunk to call out", key="no_trunk")
        if to_mobile and mobile is None:
            raise ValidationError("you have no mobile number set", key="no_mobile")
        if not to_mobile and not me.registered:
            return CallBack(client, False, mobile)
        if self.redis is None:
            raise ValidationError("the engine cannot be reached now", key="engine_unreachable")
        agent_mobile = mobile.lstrip("+") if to_mobile and mobile else ""
        await request_dial(
            self.redis,
            DialRequest(
                actor.company_id, actor.employee_id, me.ext, client, agent_mobile=agent_mobile
            ),
        )
        return CallBack(client, True, mobile)
