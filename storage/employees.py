"""Employees with their extension and SIP devices (credentials kept as digest hashes)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

FIRST_AUTO_EXT = 101
LAST_EXT = 99999


@dataclass(frozen=True, slots=True)
class Employee:
    id: int
    company_id: int
    name: str
    ext: str | None
    email: str | None
    mobile: str | None
    enabled: bool
    # A device of this employee has a live registration in Kamailio's location table.
    registered: bool = False
    # In an answered call right now (engine presence in Redis; filled by the cabinet).
    on_call: bool = False


def _employee(r: asyncpg.Record) -> Employee:
    return Employee(
        id=r["id"],
        company_id=r["company_id"],
        name=r["name"],
        ext=r["ext"],
        email=r["email"],
        mobile=r["mobile"],
        enabled=r["enabled"],
        registered=r["registered"],
    )


# Kamailio writes location.expires as UTC without a time zone.
_SELECT = """
SELECT e.id, e.company_id, e.name, x.ext, e.email, e.mobile, e.enabled,
       EXISTS (SELECT 1 FROM sip_devices d
                 JOIN location l ON l.username = d.username AND l.domain = c.sip_domain
                WHERE d.company_id = e.company_id AND d.employee_id = e.id AND d.enabled
                  AND l.expires > (now() AT TIME ZONE 'UTC')) AS registered
  FROM employees e
  JOIN companies c ON c.id = e.company_id
  LEFT JOIN extensions x ON x.company_id = e.company_id AND x.employee_id = e.id
"""


async def insert(
    conn: asyncpg.Connection,
    company_id: int,
    name: str,
    email: str | None,
    mobile: str | None,
) -> int:
    employee_id: int = await conn.fetchval(
        """INSERT INTO employees (company_id, name, email, mobile)
           VALUES ($1, $2, $3, $4) RETURNING id""",
        company_id,
        name,
        email,
        mobile,
    )
    return employee_id


async def insert_extension(
    conn: asyncpg.Connection, company_id: int, ext: str, employee_id: int
) -> None:
    await conn.execute(
        "INSERT INTO extensions (company_id, ext, employee_id) VALUES ($1, $2, $3)",
        company_id,
        ext,
        employee_id,
    )


async def ext_taken(conn: asyncpg.Connection, company_id: int, ext: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM extensions WHERE company_id = $1 AND ext = $2)",
            company_id,
            ext,
        )
    )


async def lowest_free_ext(conn: asyncpg.Connection, company_id: int) -> str | None:
    """The lowest free extension from 101 upward (None when all are taken).

    The answer is 101 or one more than a taken extension, so only those candidates
    are checked. Extensions never start with 0, so ext::int maps back to the text.
    """
    found = await conn.fetchval(
        """SELECT min(s.c) FROM (
                SELECT $2::int AS c
                UNION ALL
                SELECT ext::int + 1 FROM extensions WHERE company_id = $1 AND ext::int >= $2
           ) s
           WHERE s.c <= $3 AND NOT EXISTS (
                SELECT 1 FROM extensions x WHERE x.company_id = $1 AND x.ext = s.c::text)""",
        company_id,
        FIRST_AUTO_EXT,
        LAST_EXT,
    )
    return None if found is None else str(found)


async def insert_device(
    conn: asyncpg.Connection,
    company_id: int,
    employee_id: int,
    username: str,
    ha1: str,
    ha1b: str,
) -> int:
    device_id: int = await conn.fetchval(
        """INSERT INTO sip_devices (company_id, employee_id, username, ha1, ha1b)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        company_id,
        employee_id,
        username,
        ha1,
        ha1b,
    )
    return device_id


async def set_device_hashes(
    conn: asyncpg.Connection, company_id: int, username: str, ha1: str, ha1b: str
) -> bool:
    """Replace a device's credentials; False when the company has no such device."""
    status: str = await conn.execute(
        "UPDATE sip_devices SET ha1 = $3, ha1b = $4 WHERE company_id = $1 AND username = $2",
        company_id,
        username,
        ha1,
        ha1b,
    )
    return status != "UPDATE 0"


async def get_by_ext(conn: asyncpg.Connection, company_id: int, ext: str) -> Employee | None:
    r = await conn.fetchrow(f"{_SELECT} WHERE e.company_id = $1 AND x.ext = $2", company_id, ext)
    return _employee(r) if r else None


async def get(conn: asyncpg.Connection, company_id: int, employee_id: int) -> Employee | None:
    r = await conn.fetchrow(
        f"{_SELECT} WHERE e.company_id = $1 AND e.id = $2", company_id, employee_id
    )
    return _employee(r) if r else None


async def list_for_company(conn: asyncpg.Connection, company_id: int) -> list[Employee]:
    rows = await conn.fetch(
        f"{_SELECT} WHERE e.company_id = $1 ORDER BY x.ext::int NULLS LAST, e.id", company_id
    )
    return [_employee(r) for r in rows]
