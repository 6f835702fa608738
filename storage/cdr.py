"""Writing call records: one row per call with its legs, written once."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from pbx.engine.calls import CallRecord
from storage.alerts import missed_call


class PgCallRecords:
    def __init__(self, pool: asyncpg.Pool, node: str = "") -> None:
        self.pool = pool
        self.node = node

    async def __call__(self, rec: CallRecord) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            call_id = await conn.fetchval(
                """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
                       caller_employee_id, callee_employee_id, trunk_id, number_id,
                       started_at, answered_at, ended_at, result, hangup_cause, sip_code,
                       engine_node, target)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
                   ON CONFLICT (sip_call_id) DO NOTHING
                   RETURNING id""",
                rec.company_id,
                rec.sip_call_id,
                rec.direction.value,
                rec.caller,
                rec.callee,
                rec.caller_employee_id,
                rec.callee_employee_id,
                rec.trunk_id,
                rec.number_id,
                rec.started_at,
                rec.answered_at,
                rec.ended_at,
                rec.result.value,
                rec.hangup_cause,
                rec.sip_code,
                self.node,
                rec.target,
            )
            if call_id is None:
                return  # already written (a retry): once means once
            await missed_call(conn, rec, call_id)
            legs: list[tuple[str, str, datetime, datetime | None, int | None]] = [
                ("caller", rec.caller_uri, rec.started_at, rec.answered_at, None)
            ]
            if rec.callee_started_at is not None:
                legs.append(
                    ("callee", rec.callee_uri, rec.callee_started_at, rec.answered_at, rec.sip_code)
                )
            await conn.executemany(
                """INSERT INTO call_legs (call_id, company_id, role, uri, started_at,
                       answered_at, ended_at, sip_code, reason)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                [
                    (
                        call_id,
                        rec.company_id,
                        role,
                        uri,
                        start,
                        ans,
                        rec.ended_at,
                        code,
                        rec.hangup_cause,
                    )
                    for role, uri, start, ans, code in legs
                ],
            )
