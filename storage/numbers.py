"""Phone numbers (DIDs): each belongs to one company, arrives on one of its trunks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLS = "id, company_id, number, trunk_id, target_ext, created_at"


@dataclass(frozen=True, slots=True)
class Number:
    id: int
    company_id: int
    number: str
    trunk_id: int
    target_ext: str | None
    created_at: datetime


def _number(r: asyncpg.Record) -> Number:
    return Number(
        id=r["id"],
        company_id=r["company_id"],
        number=r["number"],
        trunk_id=r["trunk_id"],
        target_ext=r["target_ext"],
        created_at=r["created_at"],
    )


async def insert(
    conn: asyncpg.Connection, company_id: int, number: str, trunk_id: int, target_ext: str | None
) -> Number:
    r = await conn.fetchrow(
        f"""INSERT INTO numbers (company_id, number, trunk_id, target_ext)
            VALUES ($1, $2, $3, $4) RETURNING {_COLS}""",
        company_id,
        number,
        trunk_id,
        target_ext,
    )
    return _number(r)


async def owner(conn: asyncpg.Connection, number: str) -> int | None:
    """The company a number belongs to, if any (numbers are unique across companies)."""
    company_id: int | None = await conn.fetchval(
        "SELECT company_id FROM numbers WHERE number = $1", number
    )
    return company_id


async def list_for_company(conn: asyncpg.Connection, company_id: int) -> list[Number]:
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM numbers WHERE company_id = $1 ORDER BY number", company_id
    )
    return [_number(r) for r in rows]
