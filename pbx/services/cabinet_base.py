"""The cabinet's shared parts: roles and permissions, the acting user, transactions
and audit rows (every change writes one in the same transaction)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

import asyncpg

from pbx.billing.catalogue import Catalogue, resolve
from pbx.billing.limits import Limits
from pbx.config import Settings
from pbx.errors import ValidationError
from pbx.services.provisioning import Provisioning
from storage.employees import Employee
from storage.presence import RedisPresence, RedisTrunkStates


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    EMPLOYEE = "employee"


class Perm(StrEnum):
    MANAGE_EMPLOYEES = "manage_employees"
    VIEW_EMPLOYEES = "view_employees"
    MANAGE_NUMBERS = "manage_numbers"
    VIEW_ALL_CALLS = "view_all_calls"
    VIEW_AUDIT = "view_audit"
    MANAGE_BILLING = "manage_billing"  # spends money: plan, extras, options


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(Perm) - {Perm.VIEW_AUDIT, Perm.MANAGE_BILLING},
    Role.SUPERVISOR: frozenset({Perm.VIEW_EMPLOYEES, Perm.VIEW_ALL_CALLS}),
    Role.EMPLOYEE: frozenset(),
}

INVITE_TTL = timedelta(hours=72)
LANGUAGES = ("en", "ru")


class Forbidden(ValidationError):
    """The acting user's role does not allow this."""


@dataclass(frozen=True)
class TgUser:
    tg_id: int
    first_name: str
    username: str | None
    language: str


@dataclass(frozen=True)
class Actor:
    tg_id: int
    company_id: int
    role: Role
    employee_id: int | None
    language: str
    timezone: str = "UTC"  # the company's: every time the actor reads is in it
    company_name: str = ""

    def can(self, perm: Perm) -> bool:
        return perm in ROLE_PERMS[self.role]


@dataclass(frozen=True)
class Invite:
    token: str
    employee: Employee
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_tg_id: int | None
    action: str
    target: str
    old_value: Any
    new_value: Any
    actor_name: str = ""


def require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        # Say who can: the owner alone (money, audit) or an admin too.
        who = "admin" if perm in ROLE_PERMS[Role.ADMIN] else "owner"
        raise Forbidden(
            f"your role ({actor.role}) does not allow this; {who} can",
            key="forbidden",
            who=who,
        )


def normalize_language(code: str | None) -> str:
    """Telegram's language_code (e.g. 'ru', 'en-US') → one of ours; English otherwise."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


class CabinetBase:
    """State and helpers shared by the cabinet's areas."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        presence: RedisPresence | None = None,
        trunk_states: RedisTrunkStates | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.presence = presence
        self.trunk_states = trunk_states
        self.prov = Provisioning(pool, settings)

    @cached_property
    def catalogue(self) -> Catalogue:
        return resolve(self.settings.catalogue)

    async def _limits(self, conn: asyncpg.Connection, company_id: int) -> Limits:
        """The company's plan limits, its row locked until the transaction ends."""
        return await Limits.of(conn, self.catalogue, company_id)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @staticmethod
    async def _audit(
        conn: asyncpg.Connection,
        actor: Actor | None,
        company_id: int,
        action: str,
        target: str = "",
        old: Any = None,
        new: Any = None,
    ) -> None:
        await conn.execute(
            """INSERT INTO audit_log (company_id, actor_tg_id, action, target, old_value, new_value)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
            company_id,
            actor.tg_id if actor else None,
            action,
            target,
            None if old is None else json.dumps(old, default=str),
            None if new is None else json.dumps(new, default=str),
        )
