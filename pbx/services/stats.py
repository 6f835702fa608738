"""Call statistics for the cabinet: per employee, ring group and company number, by hour
of day and by day, and a rating of employees — always within what the actor may see
(`pbx.services.access.call_scope`).

Definitions (UTC days and hours, like the call history):
- received: inbound or internal calls to the employee; answered / missed of those;
- made: outbound or internal calls from the employee;
- talk time: from answer to hang-up of every answered call the employee took part in;
- answer time: from the start of the call to its answer, over answered received calls;
- missed (groups, numbers, hours, days): not answered and not outgoing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from pbx.billing.catalogue import Catalogue
from pbx.billing.limits import Limits
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.access import CallScope, call_scope
from pbx.services.cabinet_base import Actor
from pbx.services.history import PERIODS, CallFilter, parse_filter, period_bounds

DEFAULT_PERIOD = "today"
MAX_DAYS = 366  # a custom period longer than this is refused (one bar per day)


@dataclass(frozen=True)
class Period:
    """A named period ("today", "week", ...) or a custom "YYYY-MM-DD..YYYY-MM-DD" one."""

    period: str | None = DEFAULT_PERIOD
    since: str | None = None
    until: str | None = None

    @property
    def label(self) -> str:
        """The word the user typed; it also travels in button callbacks."""
        return f"{self.since}..{self.until}" if self.since else (self.period or DEFAULT_PERIOD)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end): an open end is the end of the current UTC day."""
        start, end = period_bounds(self.period, now, self.since, self.until)
        assert start is not None
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return start, end or today + timedelta(days=1)


def parse_period(args: str | None) -> Period:
    """One period word of `/calls` (today, yesterday, week, month, a date range);
    nothing means today."""
    words = (args or "").lower().split()
    if not words:
        return Period()
    bad = ValidationError(f"bad period {words[0]!r}", key="bad_period", word=" ".join(words))
    if len(words) > 1:
        raise bad
    try:
        f = parse_filter(words[0])
    except ValidationError:
        raise bad from None
    if f != CallFilter(period=f.period, since=f.since, until=f.until):
        raise bad
    if f.since and f.until:
        days = (date.fromisoformat(f.until) - date.fromisoformat(f.since)).days + 1
        if days > MAX_DAYS:
            raise ValidationError(
                f"period of {days} days", key="period_too_long", days=days, max_days=MAX_DAYS
            )
        return Period(None, f.since, f.until)
    assert f.period in PERIODS
    return Period(f.period)


@dataclass(frozen=True)
class EmployeeStats:
    employee_id: int
    name: str
    ext: str | None
    received: int
    answered: int
    missed: int
    made: int
    talk_calls: int  # answered calls (received or made) the talk time is over
    talk_seconds: int
    answer_seconds: int  # sum over answered received calls

    @property
    def avg_talk(self) -> float:
        return self.talk_seconds / self.talk_calls if self.talk_calls else 0.0

    @property
    def avg_answer(self) -> float | None:
        return self.answer_seconds / self.answered if self.answered else None


@dataclass(frozen=True)
class GroupStats:
    """Ring group or company number: `name` is the group's name or the number."""

    name: str
    calls: int
    inbound: int
    outbound: int
    answered: int
    missed: int
    talk_seconds: int
    answer_seconds: int  # sum over answered calls that were not outgoing
    answered_in: int

    @property
    def avg_answer(self) -> float | None:
        return self.answer_seconds / self.answered_in if self.answered_in else None


@dataclass(frozen=True)
class Bucket:
    """Calls of one hour of day (0..23) or one day."""

    key: int | date
    calls: int
    answered: int
    missed: int

    @property
    def other(self) -> int:
        """Outgoing calls nobody answered."""
        return self.calls - self.answered - self.missed


@dataclass(frozen=True)
class Totals:
    calls: int
    inbound: int
    outbound: int
    internal: int
    answered: int
    missed: int
    talk_seconds: int
    answer_seconds: int
    answered_in: int

    @property
    def avg_answer(self) -> float | None:
        return self.answer_seconds / self.answered_in if self.answered_in else None


def rating(employees: list[EmployeeStats]) -> list[EmployeeStats]:
    """Best first: answered calls, then talk time, then extension."""
    return sorted(employees, key=lambda e: (-e.answered, -e.talk_seconds, e.ext or "", e.name))


def days_of(period: Period, now: datetime) -> list[date]:
    start, end = period.bounds(now)
    return [start.date() + timedelta(days=i) for i in range((end - start).days)]


# Whole seconds per call, cut like `provisioning.talk_seconds`.
_TALK = "COALESCE(trunc(extract(epoch FROM c.ended_at - c.answered_at))::bigint, 0)"
_ANSWER = "trunc(extract(epoch FROM c.answered_at - c.started_at))::bigint"
_MISSED = "c.answered_at IS NULL AND c.direction <> 'outbound'"
# Aggregates shared by totals, groups and numbers; `c` may be NULL (LEFT JOIN).
_FIGURES = f"""count(c.id) AS calls,
    count(c.id) FILTER (WHERE c.direction = 'inbound') AS inbound,
    count(c.id) FILTER (WHERE c.direction = 'outbound') AS outbound,
    count(c.id) FILTER (WHERE c.direction = 'internal') AS internal,
    count(c.id) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
    count(c.id) FILTER (WHERE {_MISSED}) AS missed,
    COALESCE(sum({_TALK}), 0)::bigint AS talk_seconds,
    COALESCE(sum({_ANSWER}) FILTER (WHERE c.direction <> 'outbound'), 0)::bigint
        AS answer_seconds,
    count(c.id) FILTER (WHERE c.answered_at IS NOT NULL AND c.direction <> 'outbound')
        AS answered_in"""


_RECEIVED = "c.callee_employee_id = e.id AND c.direction <> 'outbound'"
_MADE = "c.caller_employee_id = e.id AND c.direction <> 'inbound'"
_EMPLOYEE_FIGURES = (
    "received",
    "answered",
    "missed",
    "made",
    "talk_calls",
    "talk_seconds",
    "answer_seconds",
)


def _figures(r: asyncpg.Record) -> dict[str, int]:
    keys = ("calls", "inbound", "outbound", "answered", "missed", "talk_seconds")
    return {k: int(r[k]) for k in (*keys, "answer_seconds", "answered_in")}


class Stats:
    def __init__(self, pool: asyncpg.Pool, catalogue: Catalogue | None = None) -> None:
        self.pool = pool
        self.catalogue = catalogue  # the statistics section may be a paid option

    async def _scope(
        self, actor: Actor, period: Period, first: int
    ) -> tuple[CallScope, str, list[Any]]:
        """`scope AND period` on calls `c` with parameters from $first (5 of them)."""
        if self.catalogue is not None:
            async with self.pool.acquire() as conn:
                (await Limits.of(conn, self.catalogue, actor.company_id, lock=False)).feature(
                    "statistics"
                )
        scope = await call_scope(self.pool, actor)
        cond, params = scope.sql("c", first)
        start, end = period.bounds(datetime.now(UTC))
        n = first + len(params)
        cond += f" AND c.started_at >= ${n} AND c.started_at < ${n + 1}"
        return scope, cond, [*params, start, end]

    async def totals(self, actor: Actor, period: Period) -> Totals:
        _, cond, params = await self._scope(actor, period, 1)
        r = await self.pool.fetchrow(f"SELECT {_FIGURES} FROM calls c WHERE {cond}", *params)
        assert r is not None
        return Totals(internal=int(r["internal"]), **_figures(r))

    async def employees(
        self, actor: Actor, period: Period, ext: str | None = None
    ) -> list[EmployeeStats]:
        """One row per employee the actor may see (an employee: themself), by extension."""
        scope, cond, params = await self._scope(actor, period, 4)
        rows = await self.pool.fetch(
            f"""WITH c AS (SELECT c.* FROM calls c WHERE {cond})
                SELECT e.id, e.name, x.ext,
                  count(c.id) FILTER (WHERE {_RECEIVED}) AS received,
                  count(c.id) FILTER (WHERE {_RECEIVED} AND c.answered_at IS NOT NULL)
                      AS answered,
                  count(c.id) FILTER (WHERE {_RECEIVED} AND c.answered_at IS NULL) AS missed,
                  count(c.id) FILTER (WHERE {_MADE}) AS made,
                  count(c.id) FILTER (WHERE c.answered_at IS NOT NULL) AS talk_calls,
                  COALESCE(sum({_TALK}), 0)::bigint AS talk_seconds,
                  COALESCE(sum({_ANSWER}) FILTER (WHERE {_RECEIVED}), 0)::bigint
                      AS answer_seconds
                  FROM employees e
                  LEFT JOIN extensions x ON x.company_id = e.company_id AND x.employee_id = e.id
                  LEFT JOIN c ON e.id IN (c.caller_employee_id, c.callee_employee_id)
                 WHERE e.company_id = $1 AND ($2::bigint[] IS NULL OR e.id = ANY($2::bigint[]))
                   AND ($3::text IS NULL OR x.ext = $3)
                 GROUP BY e.id, e.name, x.ext
                 ORDER BY x.ext NULLS LAST, e.id""",
            actor.company_id,
            _visible(scope),
            ext,
            *params,
        )
        return [
            EmployeeStats(
                employee_id=r["id"],
                name=r["name"],
                ext=r["ext"],
                **{k: int(r[k]) for k in _EMPLOYEE_FIGURES},
            )
            for r in rows
        ]

    async def employee(self, actor: Actor, ext: str, period: Period) -> EmployeeStats:
        """One employee by extension; one the actor may not see is simply not found."""
        ext_ = v.validate_ext(ext)
        found = await self.employees(actor, period, ext_)
        if not found:
            raise NotFound(f"no employee with extension {ext_}", key="no_such_ext", ext=ext_)
        return found[0]

    async def groups(self, actor: Actor, period: Period) -> list[GroupStats]:
        """Calls whose target is the group or that reached its members. Owners and admins
        see every group; others the groups they belong to (within their calls)."""
        scope, cond, params = await self._scope(actor, period, 3)
        rows = await self.pool.fetch(
            f"""SELECT g.name, {_FIGURES}
                  FROM ring_groups g
                  LEFT JOIN calls c ON c.company_id = g.company_id AND {cond}
                   AND (c.target = 'group:' || g.name OR EXISTS (
                        SELECT 1 FROM ring_group_members gm WHERE gm.group_id = g.id
                           AND gm.employee_id IN (c.caller_employee_id, c.callee_employee_id)))
                 WHERE g.company_id = $1 AND ($2::bigint IS NULL OR EXISTS (
                        SELECT 1 FROM ring_group_members me
                         WHERE me.group_id = g.id AND me.employee_id = $2))
                 GROUP BY g.id, g.name ORDER BY g.name""",
            actor.company_id,
            None if scope.whole_company else actor.employee_id,
            *params,
        )
        return [GroupStats(name=r["name"], **_figures(r)) for r in rows]

    async def numbers(self, actor: Actor, period: Period) -> list[GroupStats]:
        """Per company number (calls to it or shown by it). Owners and admins see every
        number; others only numbers with calls they may see."""
        scope, cond, params = await self._scope(actor, period, 3)
        rows = await self.pool.fetch(
            f"""SELECT n.number AS name, {_FIGURES}
                  FROM numbers n
                  LEFT JOIN calls c ON c.company_id = n.company_id AND c.number_id = n.id
                   AND {cond}
                 WHERE n.company_id = $1
                 GROUP BY n.id, n.number
                HAVING $2 OR count(c.id) > 0
                 ORDER BY n.number""",
            actor.company_id,
            scope.whole_company,
            *params,
        )
        return [GroupStats(name=r["name"], **_figures(r)) for r in rows]

    async def by_hour(self, actor: Actor, period: Period) -> list[Bucket]:
        """24 buckets, hours of day in UTC."""
        found = await self._buckets(actor, period, "extract(hour FROM c.started_at)::int")
        return [found.get(h, Bucket(h, 0, 0, 0)) for h in range(24)]

    async def by_day(self, actor: Actor, period: Period) -> list[Bucket]:
        """One bucket per UTC day of the period, days without calls included."""
        found = await self._buckets(actor, period, "c.started_at::date")
        return [found.get(d, Bucket(d, 0, 0, 0)) for d in days_of(period, datetime.now(UTC))]

    async def _buckets(self, actor: Actor, period: Period, key: str) -> dict[Any, Bucket]:
        _, cond, params = await self._scope(actor, period, 1)
        async with self.pool.acquire() as conn, conn.transaction():
            # Hours and days in UTC whatever the server's time zone.
            await conn.execute("SET LOCAL TIME ZONE 'UTC'")
            rows = await conn.fetch(
                f"""SELECT {key} AS k, count(*) AS calls,
                           count(*) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
                           count(*) FILTER (WHERE {_MISSED}) AS missed
                      FROM calls c WHERE {cond} GROUP BY 1""",
                *params,
            )
        return {
            r["k"]: Bucket(r["k"], int(r["calls"]), int(r["answered"]), int(r["missed"]))
            for r in rows
        }


def _visible(scope: CallScope) -> list[int] | None:
    """Employees whose rows the actor sees: None for everyone in the company."""
    return None if scope.employees is None else list(scope.employees)
