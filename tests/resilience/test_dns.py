"""A trunk host whose DNS never answers must not freeze SIP (issue 18.5).

The name server is simulated where the process asks it, `socket.getaddrinfo` (sippy and
our resolver both go through it): for one name it hangs for up to 20 s, as a lookup to
a dead server does. Before the fix, sippy made that lookup on its event-loop thread and
the engine stopped answering anything, OPTIONS from the edge included.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pbx.app import Service
from pbx.engine.events import Registration, Target
from tests.conftest import ENGINE_PORT
from tests.support.rawsip import UdpPeer, request
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e

DEAD = "carrier.dead-dns.test"


@pytest.fixture
def dead_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    release = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == DEAD:
            release.wait(20)  # a server that never answers; released after the test
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield release
    release.set()


async def probe_engine(until: float) -> tuple[int, int]:
    """OPTIONS to the engine every ~100 ms until `until`, from the edge's address as its
    dispatcher probes: (sent, answered within 1 s)."""
    sent = answered = 0
    async with UdpPeer("127.0.0.1") as peer:
        while time.monotonic() < until:
            sent += 1
            peer.send(
                request("OPTIONS", f"sip:127.0.0.1:{ENGINE_PORT}", ("127.0.0.1", peer.port)),
                ("127.0.0.1", ENGINE_PORT),
            )
            status = await peer.reply(1.0)
            answered += status is not None and status.startswith("SIP/2.0 200")
            await asyncio.sleep(0.1)  # the probe's pace, not a synchronisation
    return sent, answered


async def test_a_call_to_a_dead_dns_trunk_fails_alone_and_sip_goes_on(
    pbx: Service, dead_dns: threading.Event
) -> None:
    adapter = pbx.adapter
    assert adapter is not None
    target = Target("79990001122", DEAD, 5060, None, "74950000000")
    started = time.monotonic()
    dial = asyncio.create_task(adapter.dial_out("dns-dead-1", target))
    sent, answered = await probe_engine(started + 4.0)
    await asyncio.wait_for(dial, 5)
    assert sent >= 10 and answered == sent, f"{answered} of {sent} OPTIONS answered"
    assert "dns-dead-1" not in adapter.calls
    # The dead name is remembered for a while: the next call fails at once.
    again = time.monotonic()
    await adapter.dial_out("dns-dead-2", target)
    assert time.monotonic() - again < 0.5 and "dns-dead-2" not in adapter.calls


async def test_a_registration_to_a_dead_dns_host_reports_it(
    pbx: Service, dead_dns: threading.Event
) -> None:
    adapter = pbx.adapter
    assert adapter is not None
    reg = Registration(990, DEAD, 5060, "acct", "pw", "carrier.test", 300)
    adapter.resolver._cache.pop(DEAD, None)  # a fresh lookup, not the other test's answer
    started = time.monotonic()
    registering = asyncio.create_task(adapter.register(reg))
    sent, answered = await probe_engine(started + 4.0)
    await asyncio.wait_for(registering, 5)
    assert answered == sent

    async def reported() -> bool:
        state = pbx.trunks.get(990)
        return state is not None and not state.ok and DEAD in state.status

    await eventually(reported)
