"""SIP trunks of a company: a carrier we register to, or one that sends from known IPs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

_COLS = (
    "id, company_id, name, auth_mode, host, port, username, password, from_domain, "
    "ip_addresses, expires, enabled, created_at"
)


@dataclass(frozen=True, slots=True)
class Trunk:
    id: int
    company_id: int
    name: str
    auth_mode: str
    host: str
    port: int
    username: str | None
    # The carrier's secret has to be sent to the carrier, so it is stored as is;
    # kept out of repr() so it does not end up in logs.
    password: str | None = field(repr=False)
    from_domain: str | None
    ip_addresses: tuple[str, ...]
    expires: int
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewTrunk:
    """A validated trunk, ready to insert."""

    name: str
    auth_mode: str
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    from_domain: str | None
    ip_addresses: tuple[str, ...]
    expires: int


def _trunk(r: asyncpg.Record) -> Trunk:
    return Trunk(
        id=r["id"],
        company_id=r["company_id"],
        name=r["name"],
        auth_mode=r["auth_mode"],
        host=r["host"],
        port=r["port"],
        username=r["username"],
        password=r["password"],
        from_domain=r["from_domain"],
        ip_addresses=tuple(r["ip_addresses"]),
        expires=r["expires"],
        enabled=r["enabled"],
        created_at=r["created_at"],
    )


async def insert(conn: asyncpg.Connection, company_id: int, t: NewTrunk) -> Trunk:
    r = await conn.fetchrow(
        f"""INSERT INTO trunks (company_id, name, auth_mode, host, port, username, password,
                                from_domain, ip_addresses, expires)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING {_COLS}""",
        company_id,
        t.name,
        t.auth_mode,
        t.host,
        t.port,
        t.username,
        t.password,
        t.from_domain,
        list(t.ip_addresses),
        t.expires,
    )
    return _trunk(r)


async def get(conn: asyncpg.Connection, company_id: int, trunk_id: int) -> Trunk | None:
    r = await conn.fetchrow(
        f"SELECT {_COLS} FROM trunks WHERE company_id = $1 AND id = $2", company_id, trunk_id
    )
    return _trunk(r) if r else None


async def name_taken(conn: asyncpg.Connection, company_id: int, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM trunks WHERE company_id = $1 AND name = $2)",
            company_id,
            name,
        )
    )


async def list_for_company(conn: asyncpg.Connection, company_id: int) -> list[Trunk]:
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM trunks WHERE company_id = $1 ORDER BY id", company_id
    )
    return [_trunk(r) for r in rows]
