"""Call recording in the cabinet: the policy (total, selective rules, the notice),
storage (quota, packs, auto-pack, retention, usage), and listening — always within what
the actor may see (`pbx.services.access`), so a guessed id gets nothing.

Seeds' rule: switching recording off keeps the files until retention removes them, but
nobody reaches them from the bot until it is switched on again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from pbx.billing.catalogue import LimitKind
from pbx.billing.limits import Limits
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.access import CallScope, call_scope
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, Role, require
from pbx.services.history import CallFilter, filter_sql
from pbx.services.options import flag, number_in, unknown_option
from storage import billing as billing_db
from storage.recordings import MAX_PACKS, RecordingStore, Usage, storage_event

PAGE = 10
MODES = ("off", "all", "selective")
RULE_KINDS = ("employee", "group", "number")
DIRECTIONS = {"in": (True, False), "out": (False, True), "both": (True, True)}


@dataclass(frozen=True)
class RecordingPolicyView:
    mode: str
    notice: bool
    employee_access: bool
    rules: list[str]  # "employee 101 in", "group sales", "number 74957770001"


@dataclass(frozen=True)
class StorageView:
    usage: Usage
    events: list[tuple[datetime, str, int, int]]  # at, kind, count, bytes


@dataclass(frozen=True)
class RecordingInfo:
    id: int
    call_id: int | None
    direction: str
    caller: str
    callee: str
    started_at: datetime
    seconds: float
    bytes: int
    path: Path


class RecordingArea(CabinetBase):
    def _store(self) -> RecordingStore:
        return RecordingStore(self.pool, self.settings.data_dir)

    # --- policy ---------------------------------------------------------------------
    async def recording_policy(self, actor: Actor) -> RecordingPolicyView:
        require(actor, Perm.VIEW_ALL_CALLS)
        c = await self.pool.fetchrow(
            """SELECT recording_mode, recording_notice, employee_recordings
                 FROM companies WHERE id = $1""",
            actor.company_id,
        )
        assert c is not None
        rows = await self.pool.fetch(
            """SELECT r.kind, r.inbound, r.outbound,
                      COALESCE(x.ext, g.name, n.number, r.ref_id::text) AS name
                 FROM recording_rules r
                 LEFT JOIN extensions x ON r.kind = 'employee' AND x.company_id = r.company_id
                      AND x.employee_id = r.ref_id
                 LEFT JOIN ring_groups g ON r.kind = 'group' AND g.id = r.ref_id
                 LEFT JOIN numbers n ON r.kind = 'number' AND n.id = r.ref_id
                WHERE r.company_id = $1 ORDER BY r.kind, name""",
            actor.company_id,
        )
        rules = []
        for r in rows:
            text = f"{r['kind']} {r['name']}"
            if r["kind"] == "employee":
                text += " " + next(
                    k for k, d in DIRECTIONS.items() if d == (r["inbound"], r["outbound"])
                )
            rules.append(text)
        return RecordingPolicyView(
            c["recording_mode"], c["recording_notice"], c["employee_recordings"], rules
        )

    async def set_recording(self, actor: Actor, opts: dict[str, str]) -> RecordingPolicyView:
        """`mode=all|selective|off notice=on|off employees=on|off`."""
        require(actor, Perm.MANAGE_NUMBERS)
        columns: dict[str, Any] = {}
        for key, raw in opts.items():
            if key == "mode":
                mode = raw.strip().lower()
                if mode not in MODES:
                    raise ValidationError(
                        f"unknown recording mode {raw!r}", key="bad_recording_mode", value=raw
                    )
                columns["recording_mode"] = mode
                if mode != "off":
                    async with self.pool.acquire() as conn:
                        limits = await Limits.of(conn, self.catalogue, actor.company_id, lock=False)
                        limits.feature("recording")
            elif key == "notice":
                columns["recording_notice"] = flag(raw)
            elif key == "employees":
                columns["employee_recordings"] = flag(raw)
            else:
                raise unknown_option(key, "mode notice employees")
        await self._update_company(actor, "recording.set", columns)
        return await self.recording_policy(actor)

    async def _update_company(self, actor: Actor, action: str, columns: dict[str, Any]) -> None:
        if not columns:
            return
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(columns, start=2))
        async with self._tx() as conn:
            await conn.execute(
                f"UPDATE companies SET {sets} WHERE id = $1", actor.company_id, *columns.values()
            )
            await self._audit(conn, actor, actor.company_id, action, new=columns)

    async def set_recording_rule(
        self, actor: Actor, add: bool, kind: str, name: str, direction: str = "both"
    ) -> RecordingPolicyView:
        """Selective recording: `add employee 101 in`, `add group sales`,
        `remove number 74957770001`."""
        require(actor, Perm.MANAGE_NUMBERS)
        kind = kind.lower()
        if kind not in RULE_KINDS:
            raise ValidationError(f"unknown rule kind {kind!r}", key="bad_rule_kind", value=kind)
        if direction not in DIRECTIONS:
            raise ValidationError(
                f"unknown direction {direction!r}", key="bad_rule_direction", value=direction
            )
        inbound, outbound = DIRECTIONS[direction]
        async with self._tx() as conn:
            ref = await self._rule_ref(conn, actor.company_id, kind, name)
            if add:
                await conn.execute(
                    """INSERT INTO recording_rules (company_id, kind, ref_id, inbound, outbound)
                       VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT (company_id, kind, ref_id)
                       DO UPDATE SET inbound = $4, outbound = $5""",
                    actor.company_id,
                    kind,
                    ref,
                    inbound,
                    outbound,
                )
            else:
                gone = await conn.fetchval(
                    """DELETE FROM recording_rules WHERE company_id = $1 AND kind = $2
                          AND ref_id = $3 RETURNING id""",
                    actor.company_id,
                    kind,
                    ref,
                )
                if gone is None:
                    raise NotFound(f"no rule for {kind} {name}", key="no_such_rule", name=name)
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "recording.rule",
                target=f"{kind} {name}",
                new={"add": add, "direction": direction},
            )
        return await self.recording_policy(actor)

    @staticmethod
    async def _rule_ref(conn: Any, company_id: int, kind: str, name: str) -> int:
        if kind == "employee":
            ref = await conn.fetchval(
                "SELECT employee_id FROM extensions WHERE company_id = $1 AND ext = $2",
                company_id,
                v.validate_ext(name),
            )
        elif kind == "group":
            ref = await conn.fetchval(
                "SELECT id FROM ring_groups WHERE company_id = $1 AND name = $2",
                company_id,
                name.lower(),
            )
        else:
            ref = await conn.fetchval(
                "SELECT id FROM numbers WHERE company_id = $1 AND number = $2",
                company_id,
                v.normalize_number(name, "number"),
            )
        if ref is None:
            raise NotFound(f"no {kind} {name!r}", key="no_such_rule_target", kind=kind, name=name)
        return int(ref)

    # --- storage ------------------------------------------------------------------------
    async def storage(self, actor: Actor) -> StorageView:
        require(actor, Perm.VIEW_ALL_CALLS)
        rows = await self.pool.fetch(
            """SELECT at, kind, count, bytes FROM storage_events WHERE company_id = $1
                ORDER BY at DESC, id DESC LIMIT 5""",
            actor.company_id,
        )
        usage = await self._store().usage(actor.company_id)
        return StorageView(usage, [(r["at"], r["kind"], r["count"], r["bytes"]) for r in rows])

    async def set_storage(self, actor: Actor, opts: dict[str, str]) -> StorageView:
        """`packs=N auto_pack=on|off retention=DAYS`; fewer packs than the files need
        deletes the oldest, as a full quota does."""
        require(actor, Perm.MANAGE_NUMBERS)
        columns: dict[str, Any] = {}
        for key, raw in opts.items():
            if key == "packs":
                columns["storage_packs"] = number_in(raw, 0, MAX_PACKS, "packs")
            elif key == "auto_pack":
                columns["storage_auto_pack"] = flag(raw)
            elif key == "retention":
                columns["retention_days"] = number_in(raw, 1, 366, "retention")
            else:
                raise unknown_option(key, "packs auto_pack retention")
        before = await self.pool.fetchval(
            "SELECT storage_packs FROM companies WHERE id = $1", actor.company_id
        )
        await self._within_plan(actor, columns, before)
        now = datetime.now(UTC)
        await self._update_company(actor, "storage.set", columns)
        packs = columns.get("storage_packs", before)
        if packs != before:  # dated, for the statement (issue 6)
            async with self._tx() as conn:
                kind = "pack_added" if packs > before else "pack_removed"
                await storage_event(conn, actor.company_id, now, kind, abs(packs - before), 0)
            await self._store().enforce_quota(actor.company_id, now)
        return await self.storage(actor)

    async def _within_plan(self, actor: Actor, columns: dict[str, Any], packs_before: int) -> None:
        """On a plan, storage packs are extras (the owner buys them, where the plan sells
        them) and retention stays within what the plan keeps."""
        async with self.pool.acquire() as conn:
            account = await billing_db.account(conn, self.catalogue, actor.company_id)
        if not account.billed:
            return
        packs = columns.get("storage_packs", packs_before)
        if packs > packs_before:
            require(actor, Perm.MANAGE_BILLING)
            left = account.packs_left(LimitKind.STORAGE_MB)
            if not account.limit(LimitKind.STORAGE_MB).sellable or (
                left is not None and packs - packs_before > left
            ):
                raise ValidationError(
                    "your plan sells no more recording storage packs",
                    key="nothing_to_buy",
                    kind=LimitKind.STORAGE_MB.value,
                )
        most, _ = account.recording_caps()
        days = columns.get("retention_days")
        if most is not None and days is not None and days > most:
            raise ValidationError(
                f"your plan keeps recordings at most {most} days",
                key="retention_over_plan",
                most=most,
            )

    # --- listening ---------------------------------------------------------------------
    async def list_recordings(
        self, actor: Actor, f: CallFilter, page: int = 0
    ) -> tuple[list[RecordingInfo], bool]:
        scope, params = (await listening_scope(self.pool, actor)).sql("c", 3)
        where, values = filter_sql(f, 3 + len(params), datetime.now(UTC))
        rows = await self.pool.fetch(
            _SELECT
            + f" WHERE {scope} AND {where} ORDER BY c.started_at DESC, r.id DESC LIMIT $1 OFFSET $2",
            PAGE + 1,
            page * PAGE,
            *params,
            *values,
        )
        items = [self._info(r) for r in rows]
        return items[:PAGE], len(items) > PAGE

    async def recording(self, actor: Actor, recording_id: int) -> RecordingInfo:
        scope, params = (await listening_scope(self.pool, actor)).sql("c", 1)
        row = await self.pool.fetchrow(
            _SELECT + " WHERE " + scope + f" AND r.id = ${len(params) + 1}",
            *params,
            recording_id,
        )
        if row is None:
            raise NotFound(f"recording {recording_id} not found", key="no_such_recording")
        return self._info(row)

    async def recording_of_call(self, actor: Actor, call_id: int) -> int | None:
        """The recording of a call the actor sees, if it has one (for the call card)."""
        scope, params = (await call_scope(self.pool, actor)).sql("c", 1)
        return await self.pool.fetchval(
            _SELECT_ID + " WHERE " + scope + f" AND c.id = ${len(params) + 1}",
            *params,
            call_id,
        )

    def _info(self, r: Any) -> RecordingInfo:
        return RecordingInfo(
            id=r["id"],
            call_id=r["call_id"],
            direction=r["direction"],
            caller=r["caller"],
            callee=r["callee"],
            started_at=r["started_at"],
            seconds=r["seconds"],
            bytes=r["bytes"],
            path=self._store().file(r["path"]),
        )


async def listening_scope(pool: asyncpg.Pool, actor: Actor) -> CallScope:
    """Whose recordings the actor may reach from the bot: none while recording is off
    (the seeds' rule), employees only where the company allows it."""
    c = await pool.fetchrow(
        "SELECT recording_mode, employee_recordings FROM companies WHERE id = $1",
        actor.company_id,
    )
    assert c is not None
    if c["recording_mode"] == "off":
        raise ValidationError(
            "call recording is off: recordings are kept until retention ends and can be"
            " heard again when it is switched on",
            key="recording_off",
        )
    if actor.role is Role.EMPLOYEE and not c["employee_recordings"]:
        raise ValidationError(
            "employees may not listen to recordings in this company",
            key="recordings_not_allowed",
        )
    return await call_scope(pool, actor)


_FROM = " FROM recordings r JOIN calls c ON c.sip_call_id = r.sip_call_id"
_SELECT = (
    """SELECT r.id, r.path, r.seconds, r.bytes, c.id AS call_id, c.direction, c.caller,
              c.callee, c.started_at"""
    + _FROM
)
_SELECT_ID = "SELECT r.id" + _FROM
