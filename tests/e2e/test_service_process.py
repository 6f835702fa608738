"""`pbx run` as its own process: healthy in `pbx status`, stops cleanly with a live call."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.services import Provisioning
from tests.conftest import ROOT
from tests.e2e.conftest import call_record, eventually
from tests.support.phone import Phone

pytestmark = pytest.mark.e2e
PBX = str(ROOT / ".venv" / "bin" / "pbx")
EDGE, ENGINE, HTTP = 25360, 25370, 25381


@pytest.fixture
async def service_env(base_settings: Settings, db_dsn: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_dsn,
        "REDIS_URL": base_settings.redis_dsn,
        "PBX_DATA_DIR": str(ROOT / "var" / "e2e-process"),
        "PBX_SIP_DOMAIN": "proc.test",
        "PBX_EDGE_PORT": str(EDGE),
        "PBX_ENGINE_PORT": str(ENGINE),
        "PBX_HTTP_PORT": str(HTTP),
        "PBX_RTP_PORT_MIN": "33000",
        "PBX_RTP_PORT_MAX": "33499",
    }


async def pbx_cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        PBX, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def service(
    service_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with (tmp_path / "pbx.log").open("wb") as log:  # a file: a full pipe would block it
        proc = await asyncio.create_subprocess_exec(PBX, "run", env=service_env, stderr=log)

    async def healthy() -> bool:
        assert proc.returncode is None, "pbx run exited during start-up"
        code, _ = await pbx_cli(service_env, "status", "--json")
        return code == 0

    try:
        await eventually(healthy, timeout=30)
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_status_and_clean_shutdown_with_a_live_call(
    service: asyncio.subprocess.Process,
    service_env: dict[str, str],
    pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    code, out = await pbx_cli(service_env, "status", "--json")
    report = json.loads(out)
    assert code == 0 and report["healthy"] is True
    assert report["kamailio"]["ok"] and report["engine"]["ok"] and report["postgres"]["ok"]

    settings = Settings(sip_domain="proc.test", edge_port=EDGE)
    prov = Provisioning(pool, settings)
    company = await prov.create_company("Process")
    creds = [(await prov.add_employee(company.id, n)).credentials for n in ("A", "B")]
    phones = []
    for i, c in enumerate(creds):
        phone = Phone(port=25391 + i, name=f"proc{i}")
        await phone.start()
        phones.append(phone)
        await phone.register(
            uri=f"sip:{c.login}@{c.domain}",
            registrar=f"sip:127.0.0.1:{EDGE}",
            username=c.login,
            password=c.password,
            realm=c.domain,
            proxy=f"sip:127.0.0.1:{EDGE};lr",
        )
    a, b = phones
    try:
        await a.call(f"sip:{creds[1].login}@{creds[1].domain}")
        await b.wait_incoming()
        await b.answer()
        await a.wait_state("CONFIRMED")
        await b.wait_state("CONFIRMED")

        service.send_signal(signal.SIGTERM)
        # Both phones are hung up by the PBX (BYE), and the process exits by itself.
        await a.wait_state("DISCONNECTED")
        await b.wait_state("DISCONNECTED")
        assert await asyncio.wait_for(service.wait(), 20) == 0
        assert a.current_call_id
        rec = await call_record(pool, company.id, a.current_call_id)
        assert (rec["result"], rec["hangup_cause"]) == ("answered", "shutdown")

        code, out = await pbx_cli(service_env, "status", "--json")
        assert code == 1 and json.loads(out)["healthy"] is False
    finally:
        for phone in phones:
            await phone.close()
