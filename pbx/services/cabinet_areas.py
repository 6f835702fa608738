"""The cabinet's areas beyond people: carrier trunks and numbers, and employee
self-service (SIP credentials, do-not-disturb, forwarding, my calls)."""

from __future__ import annotations

from typing import Any

import asyncpg

from pbx.billing.catalogue import LimitKind
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, require
from pbx.services.provisioning import Provisioning, SipCredentials
from storage.numbers import Number
from storage.trunks import Trunk


class NumbersArea(CabinetBase):
    # --- trunks and numbers ---------------------------------------------------------
    async def list_trunks(self, actor: Actor) -> list[tuple[Trunk, tuple[bool, str] | None]]:
        """Trunks with their registration state as the engine last saw it."""
        require(actor, Perm.MANAGE_NUMBERS)
        states = await self.trunk_states.get_all() if self.trunk_states else {}
        return [(t, states.get(t.id)) for t in await self.prov.list_trunks(actor.company_id)]

    async def add_trunk(self, actor: Actor, name: str, host: str, port: int, **auth: Any) -> Trunk:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            trunk = await Provisioning(conn, self.settings).add_trunk(
                actor.company_id, name, host, port, **auth
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "trunk.add",
                name,
                new={"host": host, "port": port, "mode": trunk.auth_mode},
            )
        if self.trunk_states is not None and trunk.auth_mode == "register":
            await self.trunk_states.trunks_changed()
        return trunk

    async def list_numbers(self, actor: Actor) -> list[Number]:
        require(actor, Perm.MANAGE_NUMBERS)
        return await self.prov.list_numbers(actor.company_id)

    async def add_number(self, actor: Actor, number: str, trunk_id: int, ext: str) -> Number:
        require(actor, Perm.MANAGE_NUMBERS)
        async with self._tx() as conn:
            await (await self._limits(conn, actor.company_id)).need(LimitKind.NUMBERS)
            num = await Provisioning(conn, self.settings).add_number(
                actor.company_id, number, trunk_id, ext
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "number.add",
                num.number,
                new={"trunk": trunk_id, "ext": num.target_ext},
            )
        return num

    async def route_number(self, actor: Actor, number: str, ext: str) -> Number:
        """Send a company number's calls to another extension."""
        require(actor, Perm.MANAGE_NUMBERS)
        digits = v.normalize_number(number)
        target = v.validate_ext(ext)
        async with self._tx() as conn:
            row = await conn.fetchrow(
                "SELECT target_ext FROM numbers WHERE company_id = $1 AND number = $2 FOR UPDATE",
                actor.company_id,
                digits,
            )
            if row is None:
                raise NotFound(
                    f"number {digits} is not this company's", key="no_such_number", number=digits
                )
            try:
                await conn.execute(
                    # A plain route replaces the scenario's main target (greeting,
                    # schedule and out-of-hours branch stay).
                    """UPDATE numbers SET target_ext = $3, open_target = NULL
                        WHERE company_id = $1 AND number = $2""",
                    actor.company_id,
                    digits,
                    target,
                )
            except asyncpg.ForeignKeyViolationError:
                raise NotFound(f"no extension {target}", key="no_such_ext", ext=target) from None
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "number.route",
                digits,
                old={"ext": row["target_ext"]},
                new={"ext": target},
            )
        return next(n for n in await self.prov.list_numbers(actor.company_id) if n.number == digits)


class SelfServiceArea(CabinetBase):
    # --- self-service ------------------------------------------------------------------
    def _own(self, actor: Actor) -> int:
        if actor.employee_id is None:
            raise ValidationError("you have no phone profile in this company", key="no_profile")
        return actor.employee_id

    async def my_credentials(self, actor: Actor) -> SipCredentials:
        """Only hashes are stored, so showing credentials means issuing a new password."""
        employee_id = self._own(actor)
        row = await self.pool.fetchrow(
            "SELECT ext FROM extensions WHERE company_id = $1 AND employee_id = $2",
            actor.company_id,
            employee_id,
        )
        if row is None:
            raise ValidationError("you have no extension", key="no_profile")
        async with self._tx() as conn:
            creds = await Provisioning(conn, self.settings).reset_password(
                actor.company_id, row["ext"]
            )
            await self._audit(
                conn, actor, actor.company_id, "sip.password_reset", f"ext {row['ext']}"
            )
        return creds

    async def set_dnd(self, actor: Actor, on: bool) -> None:
        employee_id = self._own(actor)
        async with self._tx() as conn:
            old = await conn.fetchval(
                "SELECT dnd FROM employees WHERE company_id = $1 AND id = $2 FOR UPDATE",
                actor.company_id,
                employee_id,
            )
            await conn.execute(
                "UPDATE employees SET dnd = $3 WHERE company_id = $1 AND id = $2",
                actor.company_id,
                employee_id,
                on,
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.dnd",
                f"employee {employee_id}",
                old=old,
                new=on,
            )

    async def set_forward(self, actor: Actor, mode: str, mobile: str | None = None) -> str | None:
        """Forward my calls to my mobile: off, always, or when no phone is registered."""
        employee_id = self._own(actor)
        if mode not in ("off", "always", "unregistered"):
            raise ValidationError(
                "mode must be off, always or unregistered", key="bad_forward_mode"
            )
        number = v.normalize_number(mobile, "mobile number") if mobile else None
        async with self._tx() as conn:
            if mode == "unregistered":  # conditional: the seeds' "smart" forwarding
                (await self._limits(conn, actor.company_id)).feature("smart_forwarding")
            row = await conn.fetchrow(
                "SELECT forward_mode, mobile FROM employees WHERE company_id = $1 AND id = $2 FOR UPDATE",
                actor.company_id,
                employee_id,
            )
            assert row is not None
            target = number or row["mobile"]
            if mode != "off" and not target:
                raise ValidationError("give your mobile number first", key="need_mobile")
            await conn.execute(
                "UPDATE employees SET forward_mode = $3, mobile = $4 WHERE company_id = $1 AND id = $2",
                actor.company_id,
                employee_id,
                mode,
                target,
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.forward",
                f"employee {employee_id}",
                old={"mode": row["forward_mode"], "mobile": row["mobile"]},
                new={"mode": mode, "mobile": target},
            )
        return target
