"""The whole PBX (Kamailio edge, engine, HTTP API) running in the test loop, and phones."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from pbx.app import Service
from pbx.config import Settings
from pbx.services import Provisioning, SipCredentials
from pbx.services.cabinet import Actor, Cabinet, TgUser
from tests.conftest import ROOT
from tests.support.phone import Phone
from tests.support.wait import eventually

EDGE_PORT = 25060
ENGINE_PORT = 25070
HTTP_PORT = 25081
CARRIER_IP = "127.0.0.2"
NO_ANSWER = 3.0
E2E_REDIS_DB = 1


@pytest.fixture(scope="session")
async def pbx(base_settings: Settings, db_dsn: str) -> AsyncIterator[Service]:
    # A Redis database of its own, emptied first: company ids restart with every test
    # database, and state an interrupted run left behind (who is on a call, queues)
    # must not leak into this one.
    redis_url = base_settings.redis_dsn.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    flush = aioredis.from_url(redis_url)
    await flush.flushdb()
    await flush.aclose()
    settings = Settings(
        data_dir=ROOT / "var" / "e2e",
        database_url=db_dsn,
        redis_url=redis_url,
        sip_domain="pbx.test",
        edge_port=EDGE_PORT,
        engine_port=ENGINE_PORT,
        http_port=HTTP_PORT,
        rtp_port_min=31000,
        rtp_port_max=31999,
        no_answer_timeout=NO_ANSWER,
    )
    service = Service(settings)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(autouse=True)
async def sip_table_empties(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After every test that ran the PBX, the SIP layer's call table drains: an ended
    call that stays there leaks its UAs and relay session (issue 13)."""
    yield
    if "pbx" not in request.fixturenames:
        return
    service: Service = request.getfixturevalue("pbx")
    adapter = service.adapter
    if adapter is None or not adapter.alive:
        return

    async def drained() -> bool:
        return not adapter.calls

    try:
        await eventually(drained, timeout=15)
    except TimeoutError:
        pytest.fail(f"calls left in the SIP table: {sorted(adapter.calls)}")


@pytest.fixture(scope="session")
def prov(pbx: Service) -> Provisioning:
    assert pbx.pool is not None
    return Provisioning(pbx.pool, pbx.settings)


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
