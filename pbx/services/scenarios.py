"""Configuring inbound scenarios from the cabinet: ring groups, IVR menus, a number's
scenario and who gets alerts. Schedules are in pbx/services/schedules.py.

Every target string is validated here, in one place (`check_target`): its syntax and
that what it names exists in the caller's company. An entity that a scenario still
points at cannot be removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from pbx.billing.catalogue import LimitKind
from pbx.engine.ringplan import Algorithm
from pbx.engine.targets import Kind, Target, parse
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, require
from pbx.services.options import (
    OptionParser,
    entity_name,
    flag,
    number_in,
    parse_options,
    unknown_option,
    update_row,
)


@dataclass(frozen=True)
class GroupInfo:
    name: str
    algorithm: str
    interval: int
    timeout: int
    cyclic: bool
    fallback: str
    members: list[tuple[int, str, str]]  # (position, ext, employee name)


@dataclass(frozen=True)
class MenuInfo:
    name: str
    prompt: str | None
    options: dict[str, str]
    timeout: int
    repeats: int
    on_timeout: str
    on_invalid: str
    dial_by_ext: bool


@dataclass(frozen=True)
class NumberScenario:
    number: str
    greeting: str | None
    schedule: str | None
    open_target: str
    closed_target: str
    fallback: str


async def check_target(conn: asyncpg.Connection, company_id: int, text: str) -> Target:
    """A target string that is well formed and names something of this company."""
    target = parse(text)
    arg, kind = target.arg, target.kind
    exists = True
    if kind is Kind.EXT or (kind is Kind.VOICEMAIL and arg.isdigit()):
        exists = bool(
            await conn.fetchval(
                "SELECT 1 FROM extensions WHERE company_id = $1 AND ext = $2", company_id, arg
            )
        )
    elif kind is Kind.GROUP or (kind is Kind.VOICEMAIL and arg != "common"):
        exists = bool(
            await conn.fetchval(
                "SELECT 1 FROM ring_groups WHERE company_id = $1 AND name = $2", company_id, arg
            )
        )
    elif kind in (Kind.MENU, Kind.QUEUE):
        table = "ivr_menus" if kind is Kind.MENU else "queues"
        exists = bool(
            await conn.fetchval(
                f"SELECT 1 FROM {table} WHERE company_id = $1 AND name = $2", company_id, arg
            )
        )
    elif kind is Kind.MESSAGE:
        exists = await audio_exists(conn, company_id, arg)
    elif kind is Kind.FORWARD:
        exists = bool(
            await conn.fetchval(
                """SELECT 1 FROM trunks t JOIN numbers n
                       ON n.company_id = t.company_id AND n.trunk_id = t.id
                    WHERE t.company_id = $1 AND t.enabled LIMIT 1""",
                company_id,
            )
        )
        if not exists:
            raise ValidationError(
                "forwarding needs a trunk with a company number", key="forward_no_trunk"
            )
    if not exists:
        raise NotFound(f"{target} does not exist", key="target_missing", target=str(target))
    return target


async def audio_exists(conn: asyncpg.Connection, company_id: int, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM audio_files WHERE company_id = $1 AND lower(name) = lower($2)",
            company_id,
            name,
        )
    )


async def users_of(conn: asyncpg.Connection, company_id: int, targets: list[str]) -> list[str]:
    """What still points at any of `targets` (numbers, menus, groups)."""
    rows = await conn.fetch(
        """SELECT 'number ' || number AS who FROM numbers
            WHERE company_id = $1 AND (open_target = ANY($2) OR closed_target = ANY($2)
                                       OR fallback = ANY($2))
           UNION ALL
           SELECT 'menu ' || name FROM ivr_menus
            WHERE company_id = $1 AND (on_timeout = ANY($2) OR on_invalid = ANY($2)
               OR EXISTS (SELECT 1 FROM jsonb_each_text(options) o WHERE o.value = ANY($2)))
           UNION ALL
           SELECT 'group ' || name FROM ring_groups WHERE company_id = $1 AND fallback = ANY($2)
           UNION ALL
           SELECT 'queue ' || q.name FROM queues q
             JOIN ring_groups g ON g.company_id = q.company_id AND g.id = q.group_id
            WHERE q.company_id = $1 AND (q.fallback = ANY($2) OR 'group:' || g.name = ANY($2))""",
        company_id,
        targets,
    )
    return [r["who"] for r in rows]


class ScenarioArea(CabinetBase):
    # --- ring groups ------------------------------------------------------------------
    async def list_groups(self, actor: Actor) -> list[GroupInfo]:
        require(actor, Perm.MANAGE_NUMBERS)
        rows = await self.pool.fetch(
            "SELECT * FROM ring_groups WHERE company_id = $1 ORDER BY name", actor.company_id
        )
        return [await self._group_info(self.pool, r) for r in rows]

    async def _group_info(self, db: Any, r: asyncpg.Record) -> GroupInfo:
        members = await db.fetch(
            """SELECT m.position, x.ext, e.name FROM ring_group_members m
                 JOIN employees e ON e.company_id = m.company_id AND e.id = m.employee_id
                 JOIN extensions x ON x.company_id = m.company_id AND x.employee_id = e.id
                WHERE m.group_id = $1 ORDER BY m.position, x.ext""",
            r["id"],
        )
        return GroupInfo(
            r["name"],
            r["algorithm"],
            r["interval_s"],
            r["timeout_s"],
            r["cyclic"],
            r["fallback"],
            [(m["position"], m["ext"], m["name"]) for m in members],
        )

    async def _group_row(self, conn: asyncpg.Connection, actor: Actor, name: str) -> Any:
        row = await conn.fetchrow(
            "SELECT * FROM ring_groups WHERE company_id = $1 AND name = $2 FOR UPDATE",
            actor.company_id,
            entity_name(name),
        )
        if row is None:
            raise NotFound(f"no group {name}", key="no_such_group", name=name)
        return row

    async def add_group(self, actor: Actor, name: str, algorithm: str = "ring_all") -> GroupInfo:
        require(actor, Perm.MANAGE_NUMBERS)
        name = entity_name(name)
        algo = parse_algorithm(algorithm)
        async with self._tx() as conn:
            limits = await self._limits(conn, actor.company_id)
            limits.algorithm(algo.value)
            if not await conn.fetchval(
                "SELECT 1 FROM ring_groups WHERE company_id = $1 AND name = $2",
                actor.company_id,
                name,
            ):
                await limits.need(LimitKind.RING_GROUPS)
            try:
                row = await conn.fetchrow(
                    """INSERT INTO ring_groups (company_id, name, algorithm)
                       VALUES ($1, $2, $3) RETURNING *""",
                    actor.company_id,
                    name,
                    algo.value,
                )
            except asyncpg.UniqueViolationError:
                raise ValidationError(
                    f"group {name} exists", key="group_exists", name=name
                ) from None
            await self._audit(conn, actor, actor.company_id, "group.add", name, new=algo.value)
            return await self._group_info(conn, row)

    async def set_group_members(self, actor: Actor, name: str, spec: list[str]) -> GroupInfo:
        """Members in order; extensions joined by commas share a position ("101,102 103")."""
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            group = await self._group_row(conn, actor, name)
            rows: list[tuple[int, int]] = []
            seen: set[int] = set()
            for position, token in enumerate(spec, start=1):
                for ext in filter(None, token.split(",")):
                    ext = v.validate_ext(ext)
                    employee_id = await conn.fetchval(
                        "SELECT employee_id FROM extensions WHERE company_id = $1 AND ext = $2",
                        actor.company_id,
                        ext,
                    )
                    if employee_id is None:
                        raise NotFound(f"no extension {ext}", key="no_such_ext", ext=ext)
                    if employee_id not in seen:
                        seen.add(employee_id)
                        rows.append((employee_id, position))
            await conn.execute("DELETE FROM ring_group_members WHERE group_id = $1", group["id"])
            await conn.executemany(
                """INSERT INTO ring_group_members (company_id, group_id, employee_id, position)
                   VALUES ($1, $2, $3, $4)""",
                [(actor.company_id, group["id"], e, p) for e, p in rows],
            )
            await self._audit(
                conn, actor, actor.company_id, "group.members", group["name"], new=spec
            )
            return await self._group_info(conn, group)

    async def set_group(self, actor: Actor, name: str, opts: dict[str, str]) -> GroupInfo:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            group = await self._group_row(conn, actor, name)
            values = await parse_options(
                opts,
                {
                    "algorithm": ("algorithm", lambda raw: parse_algorithm(raw).value),
                    "interval": ("interval_s", lambda raw: number_in(raw, 5, 120, "interval")),
                    "timeout": ("timeout_s", lambda raw: number_in(raw, 5, 600, "timeout")),
                    "cyclic": ("cyclic", flag),
                    "fallback": ("fallback", target_parser(conn, actor.company_id)),
                },
            )
            if "algorithm" in values:
                (await self._limits(conn, actor.company_id)).algorithm(values["algorithm"])
            row = await update_row(conn, "ring_groups", group["id"], values)
            await self._audit(conn, actor, actor.company_id, "group.set", group["name"], new=opts)
            return await self._group_info(conn, row)

    async def remove_group(self, actor: Actor, name: str) -> None:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            group = await self._group_row(conn, actor, name)
            n = group["name"]
            await refuse_if_used(conn, actor.company_id, [f"group:{n}", f"voicemail:{n}"])
            await conn.execute("DELETE FROM ring_groups WHERE id = $1", group["id"])
            await self._audit(conn, actor, actor.company_id, "group.remove", n)

    # --- IVR menus ---------------------------------------------------------------------
    async def list_menus(self, actor: Actor) -> list[MenuInfo]:
        require(actor, Perm.MANAGE_NUMBERS)
        rows = await self.pool.fetch(
            "SELECT * FROM ivr_menus WHERE company_id = $1 ORDER BY name", actor.company_id
        )
        return [_menu_info(r) for r in rows]

    async def set_menu(self, actor: Actor, name: str, opts: dict[str, str]) -> MenuInfo:
        """Create or change a menu: prompt=<audio>, 0-9*#=<target>, timeout, repeats,
        on_timeout, on_invalid, ext=on|off (dial by extension)."""
        require(actor, Perm.MANAGE_NUMBERS)
        name = entity_name(name)
        async with self._tx() as conn:
            limits = await self._limits(conn, actor.company_id)
            if not await conn.fetchval(
                "SELECT 1 FROM ivr_menus WHERE company_id = $1 AND name = $2",
                actor.company_id,
                name,
            ):
                await limits.need(LimitKind.IVR_MENUS)
            row = await conn.fetchrow(
                """INSERT INTO ivr_menus (company_id, name) VALUES ($1, $2)
                   ON CONFLICT (company_id, name) DO UPDATE SET name = EXCLUDED.name
                   RETURNING *""",
                actor.company_id,
                name,
            )
            options = dict(
                json.loads(row["options"]) if isinstance(row["options"], str) else row["options"]
            )
            values: dict[str, Any] = {}
            for key, raw in opts.items():
                if len(key) == 1 and key in "0123456789*#":
                    if raw.strip().lower() in ("none", "-"):
                        options.pop(key, None)
                    else:
                        options[key] = str(await check_target(conn, actor.company_id, raw))
                elif key == "prompt":
                    values["prompt"] = await self._audio_or_default(conn, actor, raw)
                elif key == "timeout":
                    values["timeout_s"] = number_in(raw, 1, 60, "timeout")
                elif key == "repeats":
                    values["repeats"] = number_in(raw, 0, 10, "repeats")
                elif key in ("on_timeout", "on_invalid"):
                    values[key] = str(await check_target(conn, actor.company_id, raw))
                elif key == "ext":
                    values["dial_by_ext"] = flag(raw)
                else:
                    raise unknown_option(
                        key, "prompt 0-9 * # timeout repeats on_timeout on_invalid ext"
                    )
            values["options"] = json.dumps(options)
            row = await update_row(conn, "ivr_menus", row["id"], values)
            await limits.ivr_depth()
            await self._audit(conn, actor, actor.company_id, "menu.set", name, new=opts)
            return _menu_info(row)

    async def _audio_or_default(
        self, conn: asyncpg.Connection, actor: Actor, raw: str
    ) -> str | None:
        name = raw.strip()
        if name.lower() in ("default", "none", "-"):
            return None
        if not await audio_exists(conn, actor.company_id, name):
            raise NotFound(f"no audio {name}", key="no_audio_named", name=name)
        return name

    async def remove_menu(self, actor: Actor, name: str) -> None:
        await self.remove_named(actor, "ivr_menus", "menu", name)

    async def remove_named(self, actor: Actor, table: str, kind: str, name: str) -> None:
        """Remove a menu or a queue unless something still points at it."""
        require(actor, Perm.MANAGE_NUMBERS)
        name = entity_name(name)
        async with self._tx() as conn:
            await refuse_if_used(conn, actor.company_id, [f"{kind}:{name}"])
            done = await conn.execute(
                f"DELETE FROM {table} WHERE company_id = $1 AND name = $2", actor.company_id, name
            )
            if done.endswith(" 0"):
                raise NotFound(f"no {kind} {name}", key=f"no_such_{kind}", name=name)
            await self._audit(conn, actor, actor.company_id, f"{kind}.remove", name)

    # --- a number's scenario ------------------------------------------------------------
    async def scenario_of(self, actor: Actor, number: str) -> NumberScenario:
        require(actor, Perm.MANAGE_NUMBERS)
        row = await self._number_row(self.pool, actor, number)
        return _scenario(row)

    async def _number_row(self, db: Any, actor: Actor, number: str) -> Any:
        digits = v.normalize_number(number)
        row = await db.fetchrow(
            """SELECT n.*, s.name AS schedule_name FROM numbers n
                 LEFT JOIN schedules s ON s.company_id = n.company_id AND s.id = n.schedule_id
                WHERE n.company_id = $1 AND n.number = $2""",
            actor.company_id,
            digits,
        )
        if row is None:
            raise NotFound(
                f"number {digits} is not this company's", key="no_such_number", number=digits
            )
        return row

    async def set_scenario(self, actor: Actor, number: str, opts: dict[str, str]) -> NumberScenario:
        """open=, closed=, fallback= (targets), schedule=<name>|none, greeting=<audio>|none."""
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            row = await self._number_row(conn, actor, number)
            target = target_parser(conn, actor.company_id)
            values = await parse_options(
                opts,
                {
                    "open": ("open_target", target),
                    "closed": ("closed_target", target),
                    "fallback": ("fallback", target),
                    "schedule": ("schedule_id", lambda raw: self._schedule_id(conn, actor, raw)),
                    "greeting": ("greeting", lambda raw: self._audio_or_default(conn, actor, raw)),
                },
            )
            await update_row(conn, "numbers", row["id"], values)
            await self._audit(
                conn, actor, actor.company_id, "number.scenario", row["number"], new=opts
            )
            return _scenario(await self._number_row(conn, actor, row["number"]))

    async def _schedule_id(self, conn: asyncpg.Connection, actor: Actor, raw: str) -> int | None:
        if raw.strip().lower() in ("none", "-", "24/7"):
            return None
        sid = await conn.fetchval(
            "SELECT id FROM schedules WHERE company_id = $1 AND name = $2",
            actor.company_id,
            raw.strip().lower(),
        )
        if sid is None:
            raise NotFound(f"no schedule {raw}", key="no_such_schedule", name=raw)
        return int(sid)

    # --- alerts ---------------------------------------------------------------------------
    async def set_alerts(self, actor: Actor, opts: dict[str, str]) -> dict[str, bool]:
        require(actor, Perm.MANAGE_NUMBERS)
        columns = {"owner": "missed_to_owner", "email": "alert_email", "sms": "alert_sms"}
        async with self._tx() as conn:
            for key, raw in opts.items():
                if key not in columns:
                    raise unknown_option(key, "owner email sms")
                await conn.execute(
                    f"UPDATE companies SET {columns[key]} = $2 WHERE id = $1",
                    actor.company_id,
                    flag(raw),
                )
            row = await conn.fetchrow(
                "SELECT missed_to_owner, alert_email, alert_sms FROM companies WHERE id = $1",
                actor.company_id,
            )
            if opts:
                await self._audit(conn, actor, actor.company_id, "alerts.set", new=opts)
        assert row is not None
        return {k: bool(row[c]) for k, c in columns.items()}


def target_parser(conn: asyncpg.Connection, company_id: int) -> OptionParser:
    async def parse(raw: str) -> str:
        return str(await check_target(conn, company_id, raw))

    return parse


def parse_algorithm(text: str) -> Algorithm:
    try:
        return Algorithm(text.strip().lower())
    except ValueError:
        raise ValidationError(
            f"unknown algorithm {text!r}",
            key="bad_algorithm",
            value=text,
            known=", ".join(a.value for a in Algorithm),
        ) from None


async def refuse_if_used(conn: asyncpg.Connection, company_id: int, targets: list[str]) -> None:
    users = await users_of(conn, company_id, targets)
    if users:
        raise ValidationError(
            f"still used by {', '.join(users)}", key="target_in_use", users=", ".join(users)
        )


def _menu_info(r: asyncpg.Record) -> MenuInfo:
    options = r["options"]
    options = json.loads(options) if isinstance(options, str) else options
    return MenuInfo(
        r["name"],
        r["prompt"],
        dict(sorted(options.items())),
        r["timeout_s"],
        r["repeats"],
        r["on_timeout"],
        r["on_invalid"],
        r["dial_by_ext"],
    )


def _scenario(r: asyncpg.Record) -> NumberScenario:
    open_target = r["open_target"] or (f"ext:{r['target_ext']}" if r["target_ext"] else "hangup")
    return NumberScenario(
        r["number"],
        r["greeting"],
        r["schedule_name"],
        open_target,
        r["closed_target"],
        r["fallback"],
    )
