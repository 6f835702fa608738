"""Working-hours schedules from the cabinet: weekly hours, holidays, special dates and
the manual "open now" / "closed now" override (seed 002: "по расписанию")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from pbx.engine.schedule import DAYS, fmt_ranges, from_json, parse_days, parse_ranges, to_json
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, require
from pbx.services.options import entity_name
from storage.scenarios import schedule_of


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    weekly: dict[str, str]  # day → "09:00-18:00" (days without hours are closed)
    holidays: list[date]
    special: dict[date, str]
    override: str | None
    open_now: bool


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"bad date {text!r}: use YYYY-MM-DD", key="bad_date", value=text
        ) from None


class ScheduleArea(CabinetBase):
    async def list_schedules(self, actor: Actor) -> list[ScheduleInfo]:
        require(actor, Perm.MANAGE_NUMBERS)
        rows = await self.pool.fetch(
            """SELECT s.*, c.timezone FROM schedules s JOIN companies c ON c.id = s.company_id
                WHERE s.company_id = $1 ORDER BY s.name""",
            actor.company_id,
        )
        return [_info(r) for r in rows]

    async def _row(self, conn: asyncpg.Connection, actor: Actor, name: str, create: bool) -> Any:
        name = entity_name(name)
        if create:
            await conn.execute(
                """INSERT INTO schedules (company_id, name) VALUES ($1, $2)
                   ON CONFLICT (company_id, name) DO NOTHING""",
                actor.company_id,
                name,
            )
        row = await conn.fetchrow(
            """SELECT s.*, c.timezone FROM schedules s JOIN companies c ON c.id = s.company_id
                WHERE s.company_id = $1 AND s.name = $2 FOR UPDATE OF s""",
            actor.company_id,
            name,
        )
        if row is None:
            raise NotFound(f"no schedule {name}", key="no_such_schedule", name=name)
        return row

    async def _save(
        self, conn: asyncpg.Connection, actor: Actor, row: Any, action: str, **values: Any
    ) -> ScheduleInfo:
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(values, start=2))
        await conn.execute(
            f"UPDATE schedules SET {sets} WHERE id = $1", row["id"], *values.values()
        )
        await self._audit(conn, actor, actor.company_id, action, row["name"], new=values)
        fresh = await self._row(conn, actor, row["name"], create=False)
        return _info(fresh)

    async def set_hours(self, actor: Actor, name: str, days: str, ranges: str) -> ScheduleInfo:
        """`days` such as mon-fri, `ranges` such as 09:00-13:00,14:00-18:00 or closed;
        creates the schedule on first use."""
        require(actor, Perm.MANAGE_NUMBERS)
        day_list = parse_days(days)
        hours = parse_ranges(ranges)
        async with self._tx() as conn:
            row = await self._row(conn, actor, name, create=True)
            weekly = from_json(_json(row["weekly"]))
            for d in day_list:
                weekly[d] = hours
            return await self._save(
                conn, actor, row, "schedule.hours", weekly=json.dumps(to_json(weekly))
            )

    async def set_holiday(self, actor: Actor, name: str, day: str, on: bool = True) -> ScheduleInfo:
        require(actor, Perm.MANAGE_NUMBERS)
        when = parse_date(day)
        async with self._tx() as conn:
            row = await self._row(conn, actor, name, create=False)
            days = set(row["holidays"])
            days = days | {when} if on else days - {when}
            return await self._save(conn, actor, row, "schedule.holiday", holidays=sorted(days))

    async def set_special(self, actor: Actor, name: str, day: str, ranges: str) -> ScheduleInfo:
        """One date with its own hours (a short day before a holiday); 'auto' removes it."""
        require(actor, Perm.MANAGE_NUMBERS)
        when = parse_date(day)
        async with self._tx() as conn:
            row = await self._row(conn, actor, name, create=False)
            special = _json(row["special"])
            if ranges.strip().lower() == "auto":
                special.pop(when.isoformat(), None)
            else:
                hours = parse_ranges(ranges)
                special[when.isoformat()] = (
                    [r.split("-") for r in fmt_ranges(hours).split(",")] if hours else []
                )
            return await self._save(
                conn, actor, row, "schedule.special", special=json.dumps(special)
            )

    async def set_override(self, actor: Actor, name: str, mode: str | None) -> ScheduleInfo:
        """'open' or 'closed' until cleared (None: follow the hours)."""
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            row = await self._row(conn, actor, name, create=False)
            return await self._save(conn, actor, row, "schedule.override", override=mode)

    async def remove_schedule(self, actor: Actor, name: str) -> None:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            row = await self._row(conn, actor, name, create=False)
            used = await conn.fetch(
                "SELECT number FROM numbers WHERE company_id = $1 AND schedule_id = $2",
                actor.company_id,
                row["id"],
            )
            if used:
                users = ", ".join(f"number {r['number']}" for r in used)
                raise ValidationError(f"still used by {users}", key="target_in_use", users=users)
            await conn.execute("DELETE FROM schedules WHERE id = $1", row["id"])
            await self._audit(conn, actor, actor.company_id, "schedule.remove", row["name"])


def _json(raw: Any) -> dict[str, Any]:
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


def _info(r: Any) -> ScheduleInfo:
    sched = schedule_of(r, r["timezone"])
    return ScheduleInfo(
        name=r["name"],
        weekly={d: fmt_ranges(sched.weekly.get(d, [])) for d in DAYS},
        holidays=sorted(sched.holidays),
        special={d: fmt_ranges(h) for d, h in sorted(sched.special.items())},
        override=sched.override,
        open_now=sched.is_open(datetime.now().astimezone()),
    )
