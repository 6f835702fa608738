"""Kamailio as the SIP edge, against a fake engine node: identity headers, routing from
the engine, anti-flood, scanner filtering, supervision."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest

from pbx.config import Settings
from pbx.edge.config import sync_trusted_engines
from pbx.edge.supervisor import KamailioSupervisor, sip_ping
from pbx.services import Provisioning, SipCredentials
from tests.conftest import ROOT
from tests.support.phone import Phone
from tests.support.rawsip import FakeEngine, UdpPeer, request

EDGE = ("127.0.0.1", 36060)
ENGINE = ("127.0.0.1", 36070)


@pytest.fixture(scope="module")
async def edge(
    base_settings: Settings, db_dsn: str, pool: asyncpg.Pool
) -> AsyncIterator[tuple[KamailioSupervisor, FakeEngine]]:
    settings = Settings(
        data_dir=ROOT / "var" / "edge-test",
        database_url=db_dsn,
        sip_domain="edge.test",
        edge_port=EDGE[1],
        engine_port=ENGINE[1],
        pike_reqs_density=20,
        ban_seconds=60,
    )
    loop = asyncio.get_running_loop()
    transport, engine = await loop.create_datagram_endpoint(FakeEngine, local_addr=ENGINE)
    async with pool.acquire() as conn:
        await sync_trusted_engines(conn, settings)
    sup = KamailioSupervisor(settings, db_dsn)
    await sup.start()
    try:
        yield sup, engine
    finally:
        await sup.stop()
        transport.close()


@pytest.fixture(scope="module")
async def device(pool: asyncpg.Pool, edge: object) -> AsyncIterator[tuple[Phone, SipCredentials]]:
    prov = Provisioning(pool, Settings(sip_domain="edge.test", edge_port=EDGE[1]))
    company = await prov.create_company("Edge Co")
    creds = (await prov.add_employee(company.id, "Dev")).credentials
    phone = Phone(port=36101, name="edge-dev")
    await phone.start()
    await phone.register(
        uri=f"sip:{creds.login}@{creds.domain}",
        registrar=f"sip:127.0.0.1:{EDGE[1]}",
        username=creds.login,
        password=creds.password,
        realm=creds.domain,
        proxy=f"sip:127.0.0.1:{EDGE[1]};lr",
    )
    yield phone, creds
    await phone.close()


async def test_registration_is_stored_in_location(
    pool: asyncpg.Pool, device: tuple[Phone, SipCredentials]
) -> None:
    _, creds = device
    row = await pool.fetchrow(
        "SELECT contact FROM location WHERE username = $1 AND domain = $2",
        creds.login,
        creds.domain,
    )
    assert row is not None and ":36101" in row["contact"]


async def test_device_call_reaches_engine_with_its_identity_only(
    edge: tuple[KamailioSupervisor, FakeEngine], device: tuple[Phone, SipCredentials]
) -> None:
    _, engine = edge
    phone, creds = device
    phone.mark()
    await phone.call(
        f"sip:555@{creds.domain}", headers={"X-PBX-User": "999", "X-PBX-Domain": "evil.test"}
    )
    invite = await asyncio.wait_for(engine.invites.get(), 10)
    assert f"X-PBX-User: {creds.login}\r\n" in invite
    assert f"X-PBX-Domain: {creds.domain}\r\n" in invite
    assert "999" not in invite and "evil.test" not in invite  # forged identity stripped
    assert "Record-Route:" in invite
    ended = await phone.wait_state("DISCONNECTED")
    assert ended["last_status_code"] == 486


async def test_engine_routes_by_location(
    edge: tuple[KamailioSupervisor, FakeEngine], device: tuple[Phone, SipCredentials]
) -> None:
    _, engine = edge
    phone, creds = device
    assert engine.transport is not None
    phone.mark()
    # From the engine's own socket (address and port trusted by permissions): no challenge.
    engine.transport.sendto(
        request("INVITE", f"sip:{creds.login}@{creds.domain}", ENGINE).encode(), EDGE
    )
    incoming = await phone.wait_incoming()
    assert creds.login in incoming["request_uri"]
    await phone.reject(486)
    assert (await asyncio.wait_for(_final(engine), 10)).startswith("SIP/2.0 486")
    engine.transport.sendto(request("INVITE", f"sip:999@{creds.domain}", ENGINE).encode(), EDGE)
    assert (await asyncio.wait_for(_final(engine), 10)).startswith("SIP/2.0 404")


async def _final(engine: FakeEngine) -> str:
    while True:
        msg = await engine.responses.get()
        if not msg.startswith("SIP/2.0 1"):
            return msg.split("\r\n", 1)[0]


async def test_other_port_on_engine_address_is_challenged(edge: object) -> None:
    # Phones may share the engine's address on one machine: only its socket is trusted.
    async with UdpPeer("127.0.0.1") as peer:
        peer.send(request("INVITE", "sip:999@edge.test", ("127.0.0.1", peer.port)), EDGE)
        assert await peer.reply() == "SIP/2.0 407 Proxy Authentication Required"


async def test_scanner_user_agent_gets_no_answer(edge: object) -> None:
    async with UdpPeer("127.0.0.7") as peer:
        peer.send(
            request(
                "OPTIONS", "sip:127.0.0.1", ("127.0.0.7", peer.port), user_agent="friendly-scanner"
            ),
            EDGE,
        )
        assert await peer.reply(timeout=1.0) is None
        peer.send(request("OPTIONS", "sip:127.0.0.1", ("127.0.0.7", peer.port)), EDGE)
        assert await peer.reply() == "SIP/2.0 200 Keepalive"


async def test_flood_is_banned_but_others_are_served(edge: object) -> None:
    async with UdpPeer("127.0.0.5") as flooder, UdpPeer("127.0.0.6") as other:
        for _ in range(80):  # bounded: 4x the density of this edge
            flooder.send(request("OPTIONS", "sip:127.0.0.1", ("127.0.0.5", flooder.port)), EDGE)
        await asyncio.sleep(0)  # let the loop flush the datagrams
        while await flooder.reply(timeout=0.5) is not None:
            pass  # drain the answers sent before the ban
        flooder.send(request("OPTIONS", "sip:127.0.0.1", ("127.0.0.5", flooder.port)), EDGE)
        assert await flooder.reply(timeout=1.0) is None, "flooder still answered"
        other.send(request("OPTIONS", "sip:127.0.0.1", ("127.0.0.6", other.port)), EDGE)
        assert await other.reply() == "SIP/2.0 200 Keepalive"


async def test_supervisor_restarts_killed_kamailio(
    edge: tuple[KamailioSupervisor, FakeEngine],
) -> None:
    sup, _ = edge
    before = sup.status()
    assert before["running"] and before["pid"]
    os.kill(before["pid"], signal.SIGKILL)

    async def restarted() -> bool:
        st = sup.status()
        return bool(
            st["restarts"] == before["restarts"] + 1 and st["running"] and await sip_ping(*EDGE)
        )

    deadline = asyncio.get_running_loop().time() + 20
    while not await restarted():
        assert asyncio.get_running_loop().time() < deadline, sup.status()
        await asyncio.sleep(0.1)
    assert sup.status()["pid"] != before["pid"] and sup.status()["last_exit"] == -9
