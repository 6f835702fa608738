"""The whole PBX (Kamailio edge, engine, HTTP API) running in the test loop, and phones."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import asyncpg

from pbx.app import Service
from pbx.services import Provisioning, SipCredentials
from pbx.services.cabinet import Actor, Cabinet, TgUser
from tests.conftest import (  # noqa: F401  (re-exported for the e2e modules)
    CARRIER_IP,
    E2E_REDIS_DB,
    EDGE_PORT,
    ENGINE_PORT,
    HTTP_PORT,
    NO_ANSWER,
)
from tests.support.phone import Phone
from tests.support.wait import eventually

_ports = itertools.count(25100)


@dataclass
class Office:
    """A company with registered phones, for one test module."""

    company_id: int
    domain: str
    creds: dict[str, SipCredentials]
    phones: dict[str, Phone]

    def uri(self, user: str) -> str:
        return f"sip:{user}@{self.domain}"


async def registered_phone(creds: SipCredentials, name: str) -> Phone:
    phone = Phone(port=next(_ports), name=name)
    await phone.start()
    await phone.register(
        uri=f"sip:{creds.login}@{creds.domain}",
        registrar=f"sip:127.0.0.1:{EDGE_PORT}",
        username=creds.login,
        password=creds.password,
        realm=creds.domain,
        proxy=f"sip:127.0.0.1:{EDGE_PORT};lr",
    )
    return phone


async def make_office(
    prov: Provisioning, name: str, exts: list[str], register: list[str]
) -> Office:
    company = await prov.create_company(name)
    creds = {}
    for ext in exts:
        new = await prov.add_employee(company.id, f"Employee {ext}", ext=ext)
        creds[ext] = new.credentials
    phones = {ext: await registered_phone(creds[ext], f"{name}-{ext}") for ext in register}
    return Office(company.id, company.sip_domain, creds, phones)


async def carrier_number(
    prov: Provisioning, office: Office, carrier: str, port: int, number: str, ext: str = "101"
) -> None:
    """An IP-authenticated trunk for a carrier peer at `carrier`:`port`, and `number` on
    it ringing `ext`."""
    trunk = await prov.add_trunk(
        office.company_id, "carrier", carrier, port=port, auth_mode="ip", ip_addresses=[carrier]
    )
    await prov.add_number(office.company_id, number, trunk.id, ext)


async def office_owner(pbx: Service, office: Office, tg_id: int) -> tuple[Cabinet, Actor]:
    """A cabinet on the running service and the office's owner (Telegram `tg_id`)."""
    assert pbx.pool is not None and pbx.redis is not None
    cabinet = Cabinet.with_redis(pbx.pool, pbx.settings, pbx.redis)
    await cabinet.remember(TgUser(tg_id, "Owner", None, "en"))
    await pbx.pool.execute(
        "INSERT INTO memberships (company_id, tg_id, role) VALUES ($1, $2, 'owner')",
        office.company_id,
        tg_id,
    )
    owner = await cabinet.actor(tg_id)
    assert owner is not None
    return cabinet, owner


async def call_record(pool: asyncpg.Pool, company_id: int, sip_call_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        row = await pool.fetchrow(
            "SELECT * FROM calls WHERE company_id = $1 AND sip_call_id = $2",
            company_id,
            sip_call_id,
        )
        return dict(row) if row else None

    return await eventually(probe)
