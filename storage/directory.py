"""Routing lookups over PostgreSQL (implements pbx.engine.routing.Directory)."""

from __future__ import annotations

import asyncpg

from pbx.engine.routing import Company, Did, Member, Trunk
from storage.recordings import notice_sql

_TRUNK_COLS = "t.id, t.company_id, t.host, t.port, t.username, t.password, t.from_domain"


def _trunk(r: asyncpg.Record) -> Trunk:
    return Trunk(
        id=r["id"],
        company_id=r["company_id"],
        host=r["host"],
        port=r["port"],
        username=r["username"],
        password=r["password"],
        from_domain=r["from_domain"],
    )


def _did(r: asyncpg.Record) -> Did:
    return Did(
        id=r["did_id"],
        company_id=r["company_id"],
        number=r["number"],
        trunk_id=r["trunk_id"],
        target_ext=r["target_ext"],
        scenario=bool(r.get("scenario", False)),
        channels=r.get("channels"),
    )


class PgDirectory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def company_by_domain(self, domain: str) -> Company | None:
        r = await self.pool.fetchrow(
            "SELECT id, sip_domain, blocked FROM companies WHERE sip_domain = $1", domain.lower()
        )
        return Company(r["id"], r["sip_domain"], r["blocked"] is not None) if r else None

    async def company(self, company_id: int) -> Company | None:
        r = await self.pool.fetchrow(
            "SELECT id, sip_domain, blocked FROM companies WHERE id = $1", company_id
        )
        return Company(r["id"], r["sip_domain"], r["blocked"] is not None) if r else None

    async def member(self, company_id: int, ext: str) -> Member | None:
        r = await self.pool.fetchrow(
            """SELECT e.id, x.ext, e.name, e.dnd, e.forward_mode, e.mobile FROM extensions x
                 JOIN employees e ON e.company_id = x.company_id AND e.id = x.employee_id
                WHERE x.company_id = $1 AND x.ext = $2 AND e.enabled""",
            company_id,
            ext,
        )
        if r is None:
            return None
        return Member(r["id"], r["ext"], r["name"], r["dnd"], r["forward_mode"], r["mobile"])

    async def did(self, number: str) -> Did | None:
        r = await self.pool.fetchrow(
            f"""SELECT id AS did_id, company_id, number, trunk_id, target_ext,
                      (open_target IS NOT NULL OR greeting IS NOT NULL
                       OR schedule_id IS NOT NULL OR {notice_sql("numbers")}) AS scenario,
                      (SELECT channels_per_number FROM companies c
                        WHERE c.id = numbers.company_id) AS channels
                 FROM numbers WHERE number = $1""",
            number,
        )
        return _did(r) if r else None

    async def trunks_from(self, source_ip: str) -> list[Trunk]:
        # A carrier is recognised by its source address: the listed IPs of an
        # IP-authenticated trunk, or the host we register to.
        rows = await self.pool.fetch(
            f"""SELECT {_TRUNK_COLS} FROM trunks t
                 WHERE t.enabled AND (t.host = $1 OR $1 = ANY(t.ip_addresses))
                 ORDER BY t.id""",
            source_ip,
        )
        return [_trunk(r) for r in rows]

    async def carrier_hosts(self) -> set[str]:
        """Every address or host name a carrier may send from: enabled trunks' hosts and
        listed IPs (the engine's SIP port admits only these, the edge, and its peers)."""
        rows = await self.pool.fetch(
            "SELECT host, ip_addresses FROM trunks WHERE enabled",
        )
        return {h for r in rows for h in (r["host"], *(r["ip_addresses"] or ())) if h}

    async def outbound_route(self, company_id: int) -> tuple[Trunk, Did] | None:
        r = await self.pool.fetchrow(
            f"""SELECT {_TRUNK_COLS}, n.id AS did_id, n.number, n.trunk_id, n.target_ext,
                       (SELECT channels_per_number FROM companies c
                         WHERE c.id = t.company_id) AS channels
                  FROM trunks t
                  JOIN numbers n ON n.company_id = t.company_id AND n.trunk_id = t.id
                 WHERE t.company_id = $1 AND t.enabled
                 ORDER BY t.id, n.id LIMIT 1""",
            company_id,
        )
        return (_trunk(r), _did(r)) if r else None
