"""Provisioning: companies, employees with SIP credentials, trunks, numbers; call history.

The CLI and the Telegram bot call these. Input is validated first (pure functions in
``validation``), then every change runs in one transaction that also locks the
company row, so nothing is stored half-way and concurrent additions to one company
(auto-assigned extensions, say) are serialised.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

import asyncpg

from pbx.billing.catalogue import resolve
from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services import validation as v
from storage import billing as billing_db
from storage import companies, employees, numbers, trunks
from storage.companies import Company
from storage.employees import Employee
from storage.numbers import Number
from storage.trunks import Trunk

# Services accept a pool (each call takes a connection) or a connection (the caller's
# transaction, if any, encloses ours as a savepoint).
Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"

PASSWORD_BYTES = 12  # token_urlsafe(12) -> 16 characters, 96 bits


@dataclass(frozen=True, slots=True)
class SipCredentials:
    """What a phone needs to register; the password is shown once and never stored."""

    ext: str
    login: str
    password: str = field(repr=False)
    domain: str
    registrar: str


@dataclass(frozen=True, slots=True)
class NewEmployee:
    employee: Employee
    credentials: SipCredentials


@dataclass(frozen=True, slots=True)
class CallSummary:
    id: int
    direction: str
    caller: str
    callee: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    result: str
    hangup_cause: str
    sip_code: int | None
    talk_seconds: int


def digest_hashes(username: str, domain: str, password: str) -> tuple[str, str]:
    """HA1 and HA1B as Kamailio's auth_db expects them (realm = the company's domain)."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    return md5(f"{username}:{domain}:{password}"), md5(f"{username}@{domain}:{domain}:{password}")


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


BLOCK_REASONS = ("customer", "operator", "nonpayment", "none")


class Provisioning:
    def __init__(self, db: Db, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    @property
    def registrar(self) -> str:
        """Where phones register: the SIP edge's public address."""
        host = self.settings.edge_advertise or self.settings.edge_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6
        return f"{host}:{self.settings.edge_port}"

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[asyncpg.Connection]:
        if isinstance(self.db, asyncpg.Pool):
            async with self.db.acquire() as conn, conn.transaction():
                yield conn
        else:
            async with self.db.transaction():
                yield self.db

    @staticmethod
    async def _company(conn: asyncpg.Connection, company_id: int, lock: bool = False) -> Company:
        company = await companies.get(conn, company_id, lock=lock)
        if company is None:
            raise NotFound(f"company {company_id} not found: check the company id")
        return company

    def _credentials(self, company: Company, ext: str) -> tuple[SipCredentials, str, str]:
        password = new_password()
        ha1, ha1b = digest_hashes(ext, company.sip_domain, password)
        creds = SipCredentials(
            ext=ext,
            login=ext,
            password=password,
            domain=company.sip_domain,
            registrar=self.registrar,
        )
        return creds, ha1, ha1b

    # Companies

    async def create_company(self, name: str, timezone: str = "Europe/Moscow") -> Company:
        clean = v.clean_name(name, "company name", 200)
        tz = v.validate_timezone(timezone)
        async with self._tx() as conn:
            return await companies.insert(conn, clean, tz, self.settings.sip_domain)

    async def set_billing(
        self, company_id: int, plan: str | None = None, blocked: str | None = None
    ) -> dict[str, str | None]:
        """Operator actions: put a company on a plan ("none": outside billing), block it
        (customer, operator, nonpayment) or unblock it ("none")."""
        async with self._tx() as conn:
            await self._company(conn, company_id, lock=True)
            if plan is not None:
                if plan != "none" and plan not in resolve(self.settings.catalogue).plans:
                    raise NotFound(
                        f"no plan {plan!r} in catalogue {self.settings.catalogue}",
                        key="no_such_plan",
                        plan=plan,
                        plans=", ".join(resolve(self.settings.catalogue).plans),
                    )
                await conn.execute(
                    "UPDATE companies SET plan = $2 WHERE id = $1",
                    company_id,
                    None if plan == "none" else plan,
                )
                await billing_db.apply_caps(conn, resolve(self.settings.catalogue), company_id)
            if blocked is not None:
                if blocked not in BLOCK_REASONS:
                    raise ValidationError(
                        f"block reason must be one of {', '.join(BLOCK_REASONS)}",
                        key="bad_block_reason",
                    )
                await conn.execute(
                    "UPDATE companies SET blocked = $2 WHERE id = $1",
                    company_id,
                    None if blocked == "none" else blocked,
                )
            r = await conn.fetchrow("SELECT plan, blocked FROM companies WHERE id = $1", company_id)
            return {"company": str(company_id), "plan": r["plan"], "blocked": r["blocked"]}

    async def get_company(self, company_id: int) -> Company:
        async with self._tx() as conn:
            return await self._company(conn, company_id)

    async def list_companies(self) -> list[Company]:
        async with self._tx() as conn:
            return await companies.list_all(conn)

    # Employees

    async def add_employee(
        self,
        company_id: int,
        name: str,
        ext: str | int | None = None,
        email: str | None = None,
        mobile: str | None = None,
    ) -> NewEmployee:
        clean = v.clean_name(name, "employee name")
        chosen = None if ext is None or str(ext).strip() == "" else v.validate_ext(ext)
        email_ = v.validate_email(email)
        mobile_ = v.normalize_number(mobile, "mobile number") if mobile else None
        try:
            async with self._tx() as conn:
                company = await self._company(conn, company_id, lock=True)
                if chosen is None:
                    chosen = await employees.lowest_free_ext(conn, company_id)
                    if chosen is None:
                        raise ValidationError(
                            "no free extension left: choose one explicitly", key="no_free_ext"
                        )
                elif await employees.ext_taken(conn, company_id, chosen):
                    raise ValidationError(
                        f"extension {chosen} is already taken in this company: choose another "
                        "or leave it out to get the lowest free one",
                        key="ext_taken",
                        ext=chosen,
                    )
                employee_id = await employees.insert(conn, company_id, clean, email_, mobile_)
                await employees.insert_extension(conn, company_id, chosen, employee_id)
                creds, ha1, ha1b = self._credentials(company, chosen)
                await employees.insert_device(conn, company_id, employee_id, chosen, ha1, ha1b)
                employee = await employees.get(conn, company_id, employee_id)
        except asyncpg.UniqueViolationError:
            raise ValidationError(
                f"extension {chosen} was taken at the same moment: try again"
            ) from None
        assert employee is not None
        return NewEmployee(employee=employee, credentials=creds)

    async def list_employees(self, company_id: int) -> list[Employee]:
        async with self._tx() as conn:
            await self._company(conn, company_id)
            return await employees.list_for_company(conn, company_id)

    async def reset_password(self, company_id: int, ext: str | int) -> SipCredentials:
        """A new password for the device registered as ``ext``; the old one stops working."""
        ext_ = v.validate_ext(ext)
        async with self._tx() as conn:
            company = await self._company(conn, company_id, lock=True)
            creds, ha1, ha1b = self._credentials(company, ext_)
            if not await employees.set_device_hashes(conn, company_id, ext_, ha1, ha1b):
                raise NotFound(f"extension {ext_} has no SIP device in company {company_id}")
        return creds

    # Trunks

    async def add_trunk(
        self,
        company_id: int,
        name: str,
        host: str,
        port: int = 5060,
        username: str | None = None,
        password: str | None = None,
        ip_addresses: Iterable[str] = (),
        from_domain: str | None = None,
        auth_mode: str | None = None,
        expires: int = 300,
    ) -> Trunk:
        """Add a trunk; ``auth_mode`` defaults to 'register' with credentials, else 'ip'."""
        new = v.validate_trunk(
            name, host, port, username, password, ip_addresses, from_domain, auth_mode, expires
        )
        s = self.settings
        ours = (s.edge_host, s.edge_advertise or "", s.engine_host, s.engine_advertise or "")
        v.check_carrier_addresses(new.host, new.ip_addresses, ours, s.trunk_allow_loopback)
        taken = ValidationError(f"a trunk named {new.name!r} already exists: choose another name")
        try:
            async with self._tx() as conn:
                await self._company(conn, company_id, lock=True)
                if await trunks.name_taken(conn, company_id, new.name):
                    raise taken
                return await trunks.insert(conn, company_id, new)
        except asyncpg.UniqueViolationError:
            raise taken from None

    async def list_trunks(self, company_id: int) -> list[Trunk]:
        async with self._tx() as conn:
            await self._company(conn, company_id)
            return await trunks.list_for_company(conn, company_id)

    # Numbers

    async def add_number(
        self, company_id: int, number: str, trunk_id: int, to_ext: str | int
    ) -> Number:
        digits = v.normalize_number(number)
        ext = v.validate_ext(to_ext)
        try:
            async with self._tx() as conn:
                await self._company(conn, company_id, lock=True)
                if await trunks.get(conn, company_id, trunk_id) is None:
                    raise NotFound(
                        f"trunk {trunk_id} not found in company {company_id}",
                        key="no_such_trunk",
                        trunk=str(trunk_id),
                    )
                if not await employees.ext_taken(conn, company_id, ext):
                    raise NotFound(
                        f"extension {ext} not found in company {company_id}",
                        key="no_such_ext",
                        ext=ext,
                    )
                owner = await numbers.owner(conn, digits)
                if owner is not None:
                    raise _number_taken(digits, owner == company_id)
                return await numbers.insert(conn, company_id, digits, trunk_id, ext)
        except asyncpg.UniqueViolationError:
            raise _number_taken(digits, False) from None

    async def list_numbers(self, company_id: int) -> list[Number]:
        async with self._tx() as conn:
            await self._company(conn, company_id)
            return await numbers.list_for_company(conn, company_id)

    # Call history (written by the engine; read-only here)

    async def list_calls(self, company_id: int, limit: int = 20) -> list[CallSummary]:
        if not 1 <= limit <= 1000:
            raise ValidationError(f"limit {limit} is invalid: use 1–1000")
        async with self._tx() as conn:
            await self._company(conn, company_id)
            rows = await conn.fetch(
                """SELECT id, direction, caller, callee, started_at, answered_at, ended_at,
                          result, hangup_cause, sip_code
                     FROM calls WHERE company_id = $1
                    ORDER BY started_at DESC, id DESC LIMIT $2""",
                company_id,
                limit,
            )
        return [_call(r) for r in rows]


def _number_taken(number: str, ours: bool) -> ValidationError:
    if ours:
        return ValidationError(
            f"number {number} is already added to this company", key="number_ours", number=number
        )
    return ValidationError(
        f"number {number} belongs to another company: check the number or ask support",
        key="number_taken",
        number=number,
    )


def talk_seconds(answered: datetime | None, ended: datetime) -> int:
    """Seconds of conversation: from answer to hang-up, 0 for an unanswered call."""
    return int((ended - answered).total_seconds()) if answered else 0


def _call(r: asyncpg.Record) -> CallSummary:
    answered = r["answered_at"]
    return CallSummary(
        id=r["id"],
        direction=r["direction"],
        caller=r["caller"],
        callee=r["callee"],
        started_at=r["started_at"],
        answered_at=answered,
        ended_at=r["ended_at"],
        result=r["result"],
        hangup_cause=r["hangup_cause"],
        sip_code=r["sip_code"],
        talk_seconds=talk_seconds(answered, r["ended_at"]),
    )
