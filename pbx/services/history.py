"""Call history for the cabinet: filters, pages, one call's card, with access checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.cabinet import Actor, Perm
from pbx.services.provisioning import talk_seconds

PERIODS = ("today", "week", "month")
PAGE = 10
_RANGE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class CallFilter:
    direction: str | None = None
    missed: bool = False
    ext: str | None = None
    number: str | None = None  # the company number called (inbound) or shown (outbound)
    client: str | None = None  # the outside party
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


def _scope(actor: Actor, mine: bool = False) -> int | None:
    """None: the whole company's calls; else only this employee's."""
    if actor.can(Perm.VIEW_ALL_CALLS) and not mine:
        return None
    if actor.employee_id is None:
        raise ValidationError("you have no phone profile in this company", key="no_profile")
    return actor.employee_id


def _day(text: str | None, next_day: bool = False) -> datetime | None:
    if not text:
        return None
    start = datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
    return start + timedelta(days=1) if next_day else start


def _since(period: str | None, now: datetime) -> datetime | None:
    days = {"today": 0, "week": 7, "month": 30}.get(period or "")
    if days is None:
        return None
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days)


class History:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(
        self, actor: Actor, f: CallFilter, page: int = 0, mine: bool = False
    ) -> tuple[list[CallCard], bool]:
        """One page (newest first) and whether there is a next one. Employees see only
        their own calls; owners, admins and supervisors the company's."""
        own = _scope(actor, mine)
        rows = await self.pool.fetch(
            _SELECT
            + """ WHERE c.company_id = $1
                  AND ($2::bigint IS NULL OR c.caller_employee_id = $2 OR c.callee_employee_id = $2)
                  AND ($3::text IS NULL OR c.direction = $3)
                  AND (NOT $4 OR (c.answered_at IS NULL AND c.direction <> 'outbound'))
                  AND ($5::text IS NULL OR EXISTS (
                        SELECT 1 FROM extensions x WHERE x.company_id = c.company_id AND x.ext = $5
                           AND x.employee_id IN (c.caller_employee_id, c.callee_employee_id)))
                  AND ($6::text IS NULL OR n.number = $6)
                  AND ($7::text IS NULL OR c.caller = $7 OR c.callee = $7)
                  AND ($8::timestamptz IS NULL OR c.started_at >= $8)
                  AND ($11::timestamptz IS NULL OR c.started_at < $11)
                ORDER BY c.started_at DESC, c.id DESC LIMIT $9 OFFSET $10""",
            actor.company_id,
            own,
            f.direction,
            f.missed,
            f.ext,
            f.number,
            f.client,
            _day(f.since) or _since(f.period, datetime.now(UTC)),
            PAGE + 1,
            page * PAGE,
            _day(f.until, next_day=True),
        )
        cards = [_card(r) for r in rows]
        return cards[:PAGE], len(cards) > PAGE

    async def card(self, actor: Actor, call_id: int) -> CallCard:
        """A call's card; a guessed id of another company or someone else's call is
        simply not found."""
        row = await self.pool.fetchrow(
            _SELECT
            + """ WHERE c.company_id = $1 AND c.id = $2
                  AND ($3::bigint IS NULL OR c.caller_employee_id = $3 OR c.callee_employee_id = $3)""",
            actor.company_id,
            call_id,
            _scope(actor),
        )
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
