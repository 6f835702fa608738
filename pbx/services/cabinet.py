"""The cabinet: what owners, admins, supervisors and employees may do, checked here.

The Telegram bot is a thin layer over these services; every call passes the acting
user (`Actor`), and the role check happens in the service, not by hiding buttons.
Every change writes an audit row in the same transaction. People, onboarding and
invites live here; trunks, numbers and self-service in cabinet_areas.py.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis

from pbx.billing.catalogue import LimitKind
from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from pbx.services.billing import BillingArea
from pbx.services.cabinet_areas import NumbersArea, SelfServiceArea
from pbx.services.cabinet_base import (
    INVITE_TTL,
    LANGUAGES,
    ROLE_PERMS,
    Actor,
    AuditEntry,
    Forbidden,
    Invite,
    Perm,
    Role,
    TgUser,
    normalize_language,
    require,
)
from pbx.services.callback import CallBackArea
from pbx.services.live import LiveArea
from pbx.services.provisioning import Provisioning
from pbx.services.queues import QueueArea
from pbx.services.recordings import RecordingArea
from pbx.services.schedules import ScheduleArea
from pbx.services.voicemail import VoicemailArea
from storage.companies import Company
from storage.employees import Employee
from storage.presence import RedisPresence, RedisTrunkStates

__all__ = [
    "LANGUAGES",
    "ROLE_PERMS",
    "Actor",
    "AuditEntry",
    "Cabinet",
    "Forbidden",
    "Invite",
    "Perm",
    "Role",
    "TgUser",
    "normalize_language",
    "require",
]


# QueueArea brings ScenarioArea (groups, menus, number scenarios).
class Cabinet(
    NumbersArea,
    SelfServiceArea,
    QueueArea,
    ScheduleArea,
    VoicemailArea,
    RecordingArea,
    LiveArea,
    BillingArea,
    CallBackArea,
):
    @classmethod
    def with_redis(cls, pool: asyncpg.Pool, settings: Settings, redis: aioredis.Redis) -> Cabinet:
        """The cabinet as the service runs it: shared presence, trunk states, queues."""
        cabinet = cls(pool, settings, RedisPresence(redis), RedisTrunkStates(redis))
        cabinet.redis = redis  # queues and call-back requests
        return cabinet

    # --- who is this --------------------------------------------------------------
    async def remember(self, user: TgUser) -> TgUser:
        """Upsert the Telegram user; keeps a language they chose over Telegram's."""
        row = await self.pool.fetchrow(
            """INSERT INTO tg_users (tg_id, first_name, username, language)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tg_id) DO UPDATE SET first_name = EXCLUDED.first_name,
                   username = EXCLUDED.username
               RETURNING language""",
            user.tg_id,
            user.first_name,
            user.username,
            normalize_language(user.language),
        )
        assert row is not None
        return TgUser(user.tg_id, user.first_name, user.username, row["language"])

    async def actor(self, tg_id: int) -> Actor | None:
        row = await self.pool.fetchrow(
            """SELECT m.company_id, m.role, m.employee_id, u.language, c.timezone, c.name
                 FROM memberships m JOIN tg_users u USING (tg_id)
                 JOIN companies c ON c.id = m.company_id
                WHERE m.tg_id = $1 ORDER BY m.created_at DESC LIMIT 1""",
            tg_id,
        )
        if row is None:
            return None
        return Actor(
            tg_id,
            row["company_id"],
            Role(row["role"]),
            row["employee_id"],
            row["language"],
            row["timezone"],
            row["name"],
        )

    async def set_language(self, tg_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise ValidationError(
                f"language must be one of {', '.join(LANGUAGES)}", key="bad_language"
            )
        await self.pool.execute(
            "UPDATE tg_users SET language = $2 WHERE tg_id = $1", tg_id, language
        )

    # --- onboarding -----------------------------------------------------------------
    async def onboard(
        self, user: TgUser, company_name: str, timezone: str
    ) -> tuple[Company, Actor]:
        if await self.actor(user.tg_id) is not None:
            raise ValidationError("you already belong to a company", key="already_member")
        name = v.clean_name(company_name, "company name", 200)
        tz = v.validate_timezone(timezone)
        async with self._tx() as conn:
            company = await Provisioning(conn, self.settings).create_company(name, tz)
            await conn.execute(
                "INSERT INTO memberships (company_id, tg_id, role) VALUES ($1, $2, 'owner')",
                company.id,
                user.tg_id,
            )
            actor = Actor(user.tg_id, company.id, Role.OWNER, None, user.language, tz, company.name)
            await self.start_plan(conn, company.id)
            await self._audit(conn, actor, company.id, "company.create", name, new={"timezone": tz})
        return company, actor

    async def invite(self, actor: Actor, ext: str, role: Role = Role.EMPLOYEE) -> Invite:
        require(actor, Perm.MANAGE_EMPLOYEES)
        if role is Role.OWNER or (role is Role.ADMIN and actor.role is not Role.OWNER):
            raise Forbidden("only the owner can invite an admin", key="forbidden", who="owner")
        employee = await self._employee_by_ext(actor.company_id, ext)
        token = secrets.token_urlsafe(18)
        expires = datetime.now(UTC) + INVITE_TTL
        async with self._tx() as conn:
            await conn.execute(
                """INSERT INTO invites (token, company_id, employee_id, role, created_by, expires_at)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                token,
                actor.company_id,
                employee.id,
                role.value,
                actor.tg_id,
                expires,
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "invite.create",
                f"ext {employee.ext}",
                new={"role": role},
            )
        return Invite(token, employee, role, expires)

    async def join(self, user: TgUser, token: str) -> Actor:
        """Redeem an invite: single use, expiring, binds the account to the employee."""
        async with self._tx() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM invites WHERE token = $1 FOR UPDATE", token.strip()
            )
            now = datetime.now(UTC)
            if row is None or row["used_at"] is not None or row["expires_at"] < now:
                raise ValidationError(
                    "this invite link is invalid, used or expired", key="invite_invalid"
                )
            taken = await conn.fetchval(
                "SELECT 1 FROM memberships WHERE company_id = $1 AND (tg_id = $2 OR employee_id = $3)",
                row["company_id"],
                user.tg_id,
                row["employee_id"],
            )
            if taken:
                raise ValidationError(
                    "this profile or your account is already joined", key="already_member"
                )
            await conn.execute(
                "UPDATE invites SET used_at = $2, used_by = $3 WHERE token = $1",
                row["token"],
                now,
                user.tg_id,
            )
            await conn.execute(
                """INSERT INTO memberships (company_id, tg_id, role, employee_id)
                   VALUES ($1, $2, $3, $4)""",
                row["company_id"],
                user.tg_id,
                row["role"],
                row["employee_id"],
            )
            company = await conn.fetchrow(
                "SELECT name, timezone FROM companies WHERE id = $1", row["company_id"]
            )
            actor = Actor(
                user.tg_id,
                row["company_id"],
                Role(row["role"]),
                row["employee_id"],
                user.language,
                company["timezone"],
                company["name"],
            )
            await self._audit(
                conn, actor, row["company_id"], "invite.join", f"employee {row['employee_id']}"
            )
        return actor

    # --- employees ----------------------------------------------------------------
    async def _employee_by_ext(self, company_id: int, ext: str) -> Employee:
        ext_ = v.validate_ext(ext)
        for e in await self.prov.list_employees(company_id):
            if e.ext == ext_:
                return e
        raise NotFound(f"no employee with extension {ext_}", key="no_such_ext", ext=ext_)

    async def list_employees(self, actor: Actor) -> list[Employee]:
        require(actor, Perm.VIEW_EMPLOYEES)
        people = await self.prov.list_employees(actor.company_id)
        busy = await self.presence.on_call(actor.company_id) if self.presence else set()
        return [replace(e, on_call=e.id in busy) for e in people]

    async def add_employee(
        self,
        actor: Actor,
        name: str,
        ext: str | None = None,
        email: str | None = None,
        mobile: str | None = None,
    ) -> Employee:
        """The password is not shown to the admin: the employee gets it in private."""
        require(actor, Perm.MANAGE_EMPLOYEES)
        async with self._tx() as conn:
            await (await self._limits(conn, actor.company_id)).need(LimitKind.EMPLOYEES)
            new = await Provisioning(conn, self.settings).add_employee(
                actor.company_id, name, ext, email, mobile
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.add",
                f"ext {new.employee.ext}",
                new={
                    "name": new.employee.name,
                    "email": new.employee.email,
                    "mobile": new.employee.mobile,
                },
            )
        return new.employee

    async def remove_employee(self, actor: Actor, ext: str) -> Employee:
        require(actor, Perm.MANAGE_EMPLOYEES)
        employee = await self._employee_by_ext(actor.company_id, ext)
        async with self._tx() as conn:
            await conn.execute(
                "DELETE FROM employees WHERE company_id = $1 AND id = $2",
                actor.company_id,
                employee.id,
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.remove",
                f"ext {employee.ext}",
                old={"name": employee.name},
            )
        return employee

    async def edit_employee(self, actor: Actor, ext: str, field_name: str, value: str) -> Employee:
        """Change one field of an employee: name, email or mobile ("-" clears e-mail/mobile)."""
        require(actor, Perm.MANAGE_EMPLOYEES)
        employee = await self._employee_by_ext(actor.company_id, ext)
        clear = value.strip() == "-"
        if field_name == "name":
            new: str | None = v.clean_name(value, "employee name")
        elif field_name == "email":
            new = None if clear else v.validate_email(value)
        elif field_name == "mobile":
            new = None if clear else v.normalize_number(value, "mobile number")
        else:
            raise ValidationError(
                "field must be name, email or mobile", key="bad_field", field=field_name
            )
        async with self._tx() as conn:
            try:
                await conn.execute(
                    f"UPDATE employees SET {field_name} = $3 WHERE company_id = $1 AND id = $2",
                    actor.company_id,
                    employee.id,
                    new,
                )
            except asyncpg.CheckViolationError:
                raise ValidationError(
                    "forwarding to mobile is on: turn it off before removing the mobile",
                    key="mobile_in_use",
                ) from None
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.edit",
                f"ext {employee.ext}",
                old={field_name: getattr(employee, field_name)},
                new={field_name: new},
            )
        return await self._employee_by_ext(actor.company_id, employee.ext or ext)

    async def set_enabled(self, actor: Actor, ext: str, enabled: bool) -> Employee:
        require(actor, Perm.MANAGE_EMPLOYEES)
        employee = await self._employee_by_ext(actor.company_id, ext)
        async with self._tx() as conn:
            await conn.execute(
                "UPDATE employees SET enabled = $3 WHERE company_id = $1 AND id = $2",
                actor.company_id,
                employee.id,
                enabled,
            )
            await self._audit(
                conn,
                actor,
                actor.company_id,
                "employee.enabled",
                f"ext {employee.ext}",
                old=employee.enabled,
                new=enabled,
            )
        return employee

    async def audit_log(self, actor: Actor, limit: int = 20, offset: int = 0) -> list[AuditEntry]:
        """Newest first: who (Telegram user), what, when, old → new."""
        require(actor, Perm.VIEW_AUDIT)
        rows = await self.pool.fetch(
            """SELECT a.at, a.actor_tg_id, a.action, a.target, a.old_value, a.new_value,
                      COALESCE(u.first_name, '') AS actor_name
                 FROM audit_log a LEFT JOIN tg_users u ON u.tg_id = a.actor_tg_id
                WHERE a.company_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3""",
            actor.company_id,
            limit,
            offset,
        )
        return [
            AuditEntry(
                r["at"],
                r["actor_tg_id"],
                r["action"],
                r["target"],
                json.loads(r["old_value"]) if r["old_value"] else None,
                json.loads(r["new_value"]) if r["new_value"] else None,
                r["actor_name"],
            )
            for r in rows
        ]
