"""Shared fixtures: a private PostgreSQL/Redis (started if needed) and a fresh test database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from pbx.app import Service
from pbx.config import Settings
from pbx.infra import ensure_services
from pbx.services import Provisioning
from storage.db import migrate
from tests.support.wait import eventually

ROOT = Path(__file__).resolve().parent.parent
# Companies the tests sign up are outside billing unless a test puts them on a plan
# (tests/*/test_*billing*.py do); subprocesses inherit this too.
os.environ["PBX_SIGNUP_PLAN"] = "none"
# Test carriers are SIP peers on loopback addresses (127.0.0.2 …) of this machine.
os.environ["PBX_TRUNK_ALLOW_LOOPBACK"] = "true"
TEST_DB = f"pbx_test_{os.getpid()}"


def _base_settings() -> Settings:
    return Settings(data_dir=ROOT / "var")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    s = _base_settings()
    ensure_services(s)
    return s


@pytest.fixture(scope="session")
async def db_dsn(base_settings: Settings) -> AsyncIterator[str]:
    """A database created and migrated for this test session, dropped afterwards."""
    admin = await asyncpg.connect(base_settings.dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    dsn = base_settings.dsn.rsplit("/", 1)[0] + f"/{TEST_DB}"
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    await conn.close()
    yield dsn
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(db_dsn, min_size=1, max_size=5)
    yield p
    await p.close()


# --- the whole PBX (Kamailio edge, engine, HTTP API) in the test loop: e2e and
# resilience tests share one per session.
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
