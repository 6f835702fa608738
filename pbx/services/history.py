"""Call history for the cabinet: filters, pages, one call's card, with access checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.access import call_scope
from pbx.services.cabinet_base import Actor
from pbx.services.provisioning import talk_seconds

PERIODS = ("today", "yesterday", "week", "month")
PAGE = 10
_RANGE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class CallFilter:
    direction: str | None = None
    missed: bool = False
    ext: str | None = None
    number: str | None = None  # the company number called (inbound) or shown (outbound)
    client: str | None = None  # the outside party
    group: str | None = None  # calls that reached this ring group or its members
    period: str | None = None
    # A custom period "YYYY-MM-DD..YYYY-MM-DD" (UTC days, both included), kept as text.
    since: str | None = None
    until: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallFilter:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def parse_filter(args: str | None) -> CallFilter:
    """`/calls in ext 101 client 79161234567 week` — words in any order."""
    words = (args or "").lower().split()
    f: dict[str, Any] = {}
    aliases = {"in": "inbound", "out": "outbound", "internal": "internal"}
    i = 0
    while i < len(words):
        w = words[i]
        if w in aliases:
            f["direction"] = aliases[w]
        elif w == "missed":
            f["missed"] = True
        elif w in PERIODS:
            f["period"] = w
        elif _RANGE.match(w):
            start, end = w.split("..")
            try:
                if date.fromisoformat(start) > date.fromisoformat(end):
                    raise ValueError
            except ValueError:
                raise ValidationError(f"bad period {w!r}", key="bad_filter", word=w) from None
            f["since"], f["until"] = start, end
        elif w == "group" and i + 1 < len(words):
            f["group"] = words[i + 1]
            i += 1
        elif w in ("ext", "number", "client") and i + 1 < len(words):
            value = words[i + 1]
            f[w] = v.validate_ext(value) if w == "ext" else v.normalize_number(value, w)
            i += 1
        else:
            raise ValidationError(f"unknown filter {w!r}", key="bad_filter", word=w)
        i += 1
    return CallFilter(**f)


@dataclass(frozen=True)
class CallCard:
    id: int
    direction: str
    caller: str
    callee: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    result: str
    hangup_cause: str
    talk_seconds: int
    wait_seconds: int
    number: str | None
    trunk: str | None


def _day(text: str | None, next_day: bool = False) -> datetime | None:
    if not text:
        return None
    start = datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start


def period_bounds(
    period: str | None, now: datetime, since: str | None = None, until: str | None = None
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of a named period (UTC days) or of a custom "since..until" one."""
    if since or until:
        return _day(since), _day(until, next_day=True)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "yesterday":
        return today - timedelta(days=1), today
    days = {"today": 0, "week": 7, "month": 30}.get(period or "")
    if days is None:
        return None, None
    return today - timedelta(days=days), None


def filter_sql(f: CallFilter, first: int, now: datetime) -> tuple[str, list[object]]:
    """A WHERE fragment on calls `c` for `f`, with parameters from $first on — the one
    place history, recordings, exports agree on what a filter means."""
    since, until = period_bounds(f.period, now, f.since, f.until)
    k = [f"${first + i}" for i in range(8)]
    sql = f"""({k[0]}::text IS NULL OR c.direction = {k[0]})
        AND (NOT {k[1]}::bool OR (c.answered_at IS NULL AND c.direction <> 'outbound'))
        AND ({k[2]}::text IS NULL OR EXISTS (
              SELECT 1 FROM extensions x WHERE x.company_id = c.company_id AND x.ext = {k[2]}
                 AND x.employee_id IN (c.caller_employee_id, c.callee_employee_id)))
        AND ({k[3]}::text IS NULL OR EXISTS (
              SELECT 1 FROM numbers fn WHERE fn.id = c.number_id AND fn.number = {k[3]}))
        AND ({k[4]}::text IS NULL OR c.caller = {k[4]} OR c.callee = {k[4]})
        AND ({k[5]}::timestamptz IS NULL OR c.started_at >= {k[5]})
        AND ({k[6]}::timestamptz IS NULL OR c.started_at < {k[6]})
        AND ({k[7]}::text IS NULL OR c.target = {k[7]} OR EXISTS (
              SELECT 1 FROM ring_group_members gm JOIN ring_groups g ON g.id = gm.group_id
               WHERE g.company_id = c.company_id AND 'group:' || g.name = {k[7]}
                 AND gm.employee_id IN (c.caller_employee_id, c.callee_employee_id)))"""
    group = f"group:{f.group}" if f.group else None
    return sql, [f.direction, f.missed, f.ext, f.number, f.client, since, until, group]


class History:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(
        self, actor: Actor, f: CallFilter, page: int = 0, mine: bool = False
    ) -> tuple[list[CallCard], bool]:
        """One page (newest first) and whether there is a next one, within what the
        actor may see (`pbx.services.access`)."""
        scope, params = (await call_scope(self.pool, actor, mine)).sql("c", 3)
        where, values = filter_sql(f, 3 + len(params), datetime.now(UTC))
        rows = await self.pool.fetch(
            _SELECT
            + f" WHERE {scope} AND {where} ORDER BY c.started_at DESC, c.id DESC LIMIT $1 OFFSET $2",
            PAGE + 1,
            page * PAGE,
            *params,
            *values,
        )
        cards = [_card(r) for r in rows]
        return cards[:PAGE], len(cards) > PAGE

    async def card(self, actor: Actor, call_id: int) -> CallCard:
        """A call's card; a guessed id of another company or a call the actor may not
        see is simply not found."""
        scope, params = (await call_scope(self.pool, actor)).sql("c", 2)
        row = await self.pool.fetchrow(_SELECT + " WHERE c.id = $1 AND " + scope, call_id, *params)
        if row is None:
            raise NotFound(f"call {call_id} not found", key="no_such_call")
        return _card(row)


_SELECT = """SELECT c.id, c.direction, c.caller, c.callee, c.started_at, c.answered_at, c.ended_at,
                    c.result, c.hangup_cause, n.number, t.name AS trunk
               FROM calls c
               LEFT JOIN numbers n ON n.company_id = c.company_id AND n.id = c.number_id
               LEFT JOIN trunks t ON t.company_id = c.company_id AND t.id = c.trunk_id"""


def _card(r: asyncpg.Record) -> CallCard:
    answered = r["answered_at"]
    return CallCard(
        id=r["id"],
        direction=r["direction"],
        caller=r["caller"],
        callee=r["callee"],
        started_at=r["started_at"],
        answered_at=answered,
        ended_at=r["ended_at"],
        result=r["result"],
        hangup_cause=r["hangup_cause"],
        talk_seconds=talk_seconds(answered, r["ended_at"]),
        wait_seconds=int(((answered or r["ended_at"]) - r["started_at"]).total_seconds()),
        number=r["number"],
        trunk=r["trunk"],
    )
