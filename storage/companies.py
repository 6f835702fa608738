"""Companies (tenants): each has its own SIP domain, the realm of its devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLS = "id, name, sip_domain, timezone, created_at"


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    name: str
    sip_domain: str
    timezone: str
    created_at: datetime


def _company(r: asyncpg.Record) -> Company:
    return Company(
        id=r["id"],
        name=r["name"],
        sip_domain=r["sip_domain"],
        timezone=r["timezone"],
        created_at=r["created_at"],
    )


async def insert(conn: asyncpg.Connection, name: str, timezone: str, domain_suffix: str) -> Company:
    """Insert a company whose SIP domain is ``c<id>.<domain_suffix>``.

    The id is drawn from the sequence first so that the row is complete (and the
    UNIQUE sip_domain holds) from the moment it exists.
    """
    r = await conn.fetchrow(
        f"""WITH n AS (SELECT nextval(pg_get_serial_sequence('companies', 'id')) AS id)
            INSERT INTO companies (id, name, sip_domain, timezone)
            SELECT n.id, $1, 'c' || n.id || '.' || $2, $3 FROM n
            RETURNING {_COLS}""",
        name,
        domain_suffix.lower(),
        timezone,
    )
    return _company(r)


async def get(conn: asyncpg.Connection, company_id: int, *, lock: bool = False) -> Company | None:
    """One company; ``lock`` serialises provisioning of this company until commit.

    FOR NO KEY UPDATE does not conflict with the key-share locks taken by foreign
    key checks, so inserting calls or other rows of the company is never blocked.
    """
    suffix = " FOR NO KEY UPDATE" if lock else ""
    r = await conn.fetchrow(f"SELECT {_COLS} FROM companies WHERE id = $1{suffix}", company_id)
    return _company(r) if r else None


async def list_all(conn: asyncpg.Connection) -> list[Company]:
    return [_company(r) for r in await conn.fetch(f"SELECT {_COLS} FROM companies ORDER BY id")]
