"""Billing rows: a company's plan, extras, options, the change history the triggers of
migration 0009 write, SMS usage and closed statements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from pbx.billing.account import RETENTION_OPTIONS, Account
from pbx.billing.catalogue import Catalogue, LimitKind
from pbx.errors import NotFound


@dataclass(frozen=True)
class Change:
    at: datetime
    item: str
    quantity: int


@dataclass(frozen=True)
class StoredStatement:
    month: date
    lines: list[dict[str, Any]]
    net: Decimal
    vat: Decimal
    gross: Decimal


async def account(
    conn: asyncpg.Connection, catalogue: Catalogue, company_id: int, *, lock: bool = False
) -> Account:
    """The company's billing state; `lock` serialises limit checks until commit."""
    suffix = " FOR NO KEY UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT plan, blocked, storage_packs FROM companies WHERE id = $1{suffix}", company_id
    )
    if row is None:
        raise NotFound(f"no company {company_id}", key="no_company")
    extras = {
        LimitKind(r["kind"]): r["packs"]
        for r in await conn.fetch(
            "SELECT kind, packs FROM company_extras WHERE company_id = $1", company_id
        )
        if r["kind"] in LimitKind.__members__.values()
    }
    if row["storage_packs"]:
        extras[LimitKind.STORAGE_MB] = row["storage_packs"]
    options = frozenset(
        r["option"]
        for r in await conn.fetch(
            "SELECT option FROM company_options WHERE company_id = $1", company_id
        )
    )
    return Account(catalogue, row["plan"], extras, options, row["blocked"])


async def apply_caps(conn: asyncpg.Connection, catalogue: Catalogue, company_id: int) -> None:
    """Bring what the plan sets into the company row, where the engine and the storage
    read it: recording quota, retention and minutes cap (a retention option sets them),
    and channels per number."""
    acc = await account(conn, catalogue, company_id)
    if acc.plan is None:
        await conn.execute(
            """UPDATE companies SET channels_per_number = NULL, sms_monthly = NULL,
                      sms_pack = NULL WHERE id = $1""",
            company_id,
        )
        return
    days, minutes = acc.recording_caps()
    extended = any(o in acc.options for o in RETENTION_OPTIONS)
    await conn.execute(
        """UPDATE companies SET storage_quota_mb = coalesce($2, 1048576),
                  retention_days = CASE WHEN $3::int IS NULL THEN retention_days
                                        WHEN $6 THEN $3
                                        ELSE least(retention_days, $3) END,
                  storage_max_minutes = $4, channels_per_number = $5
            WHERE id = $1""",
        company_id,
        acc.limit(LimitKind.STORAGE_MB).included,
        days,
        minutes,
        acc.allowance(LimitKind.CHANNELS) or None,
        extended,
    )
    sms = acc.limit(LimitKind.SMS)
    await conn.execute(
        "UPDATE companies SET sms_monthly = $2, sms_pack = $3 WHERE id = $1",
        company_id,
        sms.included,
        sms.step if sms.sellable else None,
    )


async def set_packs(conn: asyncpg.Connection, company_id: int, kind: LimitKind, packs: int) -> None:
    if kind is LimitKind.STORAGE_MB:
        await conn.execute(
            "UPDATE companies SET storage_packs = $2 WHERE id = $1", company_id, packs
        )
    elif packs > 0:
        await conn.execute(
            """INSERT INTO company_extras (company_id, kind, packs) VALUES ($1, $2, $3)
               ON CONFLICT (company_id, kind) DO UPDATE SET packs = EXCLUDED.packs
               WHERE company_extras.packs <> EXCLUDED.packs""",
            company_id,
            kind.value,
            packs,
        )
    else:
        await conn.execute(
            "DELETE FROM company_extras WHERE company_id = $1 AND kind = $2",
            company_id,
            kind.value,
        )


async def set_option(conn: asyncpg.Connection, company_id: int, option: str, on: bool) -> None:
    if on:
        await conn.execute(
            "INSERT INTO company_options VALUES ($1, $2) ON CONFLICT DO NOTHING",
            company_id,
            option,
        )
    else:
        await conn.execute(
            "DELETE FROM company_options WHERE company_id = $1 AND option = $2",
            company_id,
            option,
        )


async def changes(
    conn: asyncpg.Connection | asyncpg.Pool, company_id: int, until: datetime
) -> list[Change]:
    rows = await conn.fetch(
        """SELECT at, item, quantity FROM billing_changes
            WHERE company_id = $1 AND at < $2 ORDER BY at, id""",
        company_id,
        until,
    )
    return [Change(r["at"], r["item"], r["quantity"]) for r in rows]


async def take_sms(conn: asyncpg.Connection, company_id: int, bought: int = 0) -> bool:
    """Count one SMS alert against this month's allowance (company time zone), buying
    a pack when it runs out and auto-renewal is on; False: none left, do not send.
    `bought` adds packs the owner bought by hand instead (and counts no SMS)."""
    c = await conn.fetchrow(
        """SELECT sms_monthly, sms_pack, sms_auto_renew,
                  date_trunc('month', now() AT TIME ZONE timezone)::date AS month
             FROM companies WHERE id = $1 FOR NO KEY UPDATE""",
        company_id,
    )
    if c is None or (c["sms_monthly"] is None and not bought):
        return c is not None
    row = await conn.fetchrow(
        """INSERT INTO sms_usage (company_id, month) VALUES ($1, $2)
           ON CONFLICT (company_id, month) DO UPDATE SET sent = sms_usage.sent
           RETURNING sent, packs""",
        company_id,
        c["month"],
    )
    sent, packs = row["sent"], row["packs"] + bought
    if not bought:
        allowance = c["sms_monthly"] + packs * (c["sms_pack"] or 0)
        if sent >= allowance:
            if not (c["sms_auto_renew"] and c["sms_pack"]):
                return False
            packs += 1  # auto-renewal: the next pack, on this month's statement
        sent += 1
    await conn.execute(
        "UPDATE sms_usage SET sent = $3, packs = $4 WHERE company_id = $1 AND month = $2",
        company_id,
        c["month"],
        sent,
        packs,
    )
    return True


async def sms_auto_renew(conn: asyncpg.Connection, company_id: int, on: bool | None = None) -> bool:
    """Whether a pack is bought when the month's SMS run out; `on` switches it first."""
    if on is not None:
        await conn.execute("UPDATE companies SET sms_auto_renew = $2 WHERE id = $1", company_id, on)
    return bool(
        await conn.fetchval("SELECT sms_auto_renew FROM companies WHERE id = $1", company_id)
    )


async def sms_sent(conn: asyncpg.Connection | asyncpg.Pool, company_id: int) -> int:
    value = await conn.fetchval(
        """SELECT u.sent FROM sms_usage u JOIN companies c ON c.id = u.company_id
            WHERE u.company_id = $1
              AND u.month = date_trunc('month', now() AT TIME ZONE c.timezone)::date""",
        company_id,
    )
    return int(value or 0)


async def sms_packs(conn: asyncpg.Connection | asyncpg.Pool, company_id: int, month: date) -> int:
    value = await conn.fetchval(
        "SELECT packs FROM sms_usage WHERE company_id = $1 AND month = $2", company_id, month
    )
    return int(value or 0)


async def save_statement(
    conn: asyncpg.Connection, company_id: int, catalogue: str, s: StoredStatement
) -> bool:
    """Freeze a closed month once; False if it was already there."""
    tag = await conn.execute(
        """INSERT INTO statements (company_id, month, catalogue, lines, net, vat, gross)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT DO NOTHING""",
        company_id,
        s.month,
        catalogue,
        json.dumps(s.lines),
        s.net,
        s.vat,
        s.gross,
    )
    return bool(tag.endswith(" 1"))


async def statements(
    conn: asyncpg.Connection | asyncpg.Pool, company_id: int, limit: int = 6
) -> list[StoredStatement]:
    rows = await conn.fetch(
        """SELECT month, lines, net, vat, gross FROM statements WHERE company_id = $1
            ORDER BY month DESC LIMIT $2""",
        company_id,
        limit,
    )
    return [_stored(r) for r in rows]


async def statement(
    conn: asyncpg.Connection | asyncpg.Pool, company_id: int, month: date
) -> StoredStatement | None:
    r = await conn.fetchrow(
        """SELECT month, lines, net, vat, gross FROM statements
            WHERE company_id = $1 AND month = $2""",
        company_id,
        month,
    )
    return _stored(r) if r else None


def _stored(r: asyncpg.Record) -> StoredStatement:
    return StoredStatement(r["month"], json.loads(r["lines"]), r["net"], r["vat"], r["gross"])
