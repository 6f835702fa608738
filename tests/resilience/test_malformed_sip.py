"""Malformed SIP straight at the engine's socket from a carrier (the one sender besides
the edge that its source guard admits):
every bad request gets a 4xx, and none makes the engine look dead to the edge (issue 18.1).

Before: a non-UTF-8 header raised out of sippy's reader, a request that failed to parse
hit a TypeError in sippy's own error reply, and a datagram over 8192 bytes was cut and
failed to parse: no answer at all, and Kamailio took the only engine out of rotation.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from pbx.app import Service
from pbx.services import Provisioning
from tests.conftest import ENGINE_PORT
from tests.support.rawsip import UdpPeer, request

pytestmark = pytest.mark.e2e

CARRIER = "127.0.0.31"  # a carrier of some company (listed on its trunk)
PROBE = "127.0.0.1"  # the edge's host: OPTIONS from it, as the edge's dispatcher probes
ENGINE = ("127.0.0.1", ENGINE_PORT)


@pytest.fixture(scope="module")
async def carrier(pbx: Service, prov: Provisioning) -> None:
    """The sender is a carrier: the engine's port admits nobody else (issue 18.2)."""
    company = await prov.create_company("Malformed carrier")
    await prov.add_trunk(
        company.id, "carrier", CARRIER, port=5060, auth_mode="ip", ip_addresses=[CARRIER]
    )
    assert pbx.carriers is not None
    await pbx.carriers.refresh()


def invite(
    local: tuple[str, int], extra: str = "", body: str = "", length: int | None = None
) -> str:
    head = request("INVITE", f"sip:74950000000@127.0.0.1:{ENGINE_PORT}", local, extra=extra)
    size = len(body.encode()) if length is None else length
    head = head.replace("Content-Length: 0\r\n\r\n", "")
    kind = "Content-Type: application/sdp\r\n" if body else ""
    return f"{head}{kind}Content-Length: {size}\r\n\r\n{body}"


def sdp(extra_lines: int = 0) -> str:
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.31",
        "s=-",
        "c=IN IP4 127.0.0.31",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
    ]
    lines += [f"a=x-pad{i}:{secrets.token_hex(24)}" for i in range(extra_lines)]
    return "\r\n".join(lines) + "\r\n"


def non_utf8(local: tuple[str, int]) -> bytes:
    text = invite(local, extra="Subject: caf__\r\n", body=sdp())
    return text.encode().replace(b"caf__", b"caf\xe9")


BAD: dict[str, object] = {
    "non-UTF-8 header": non_utf8,
    "Content-Length past the end": lambda local: invite(local, body=sdp(), length=4000),
    "CSeq without a number": lambda local: invite(local, body=sdp()).replace(
        "CSeq: 1 INVITE", "CSeq: one INVITE"
    ),
    "Max-Forwards not a number": lambda local: invite(local).replace(
        "Max-Forwards: 70", "Max-Forwards: seventy"
    ),
    "From without a URI": lambda local: invite(local).replace(
        f"From: <sip:probe@{local[0]}>", "From: nobody"
    ),
    "SDP that is not SDP": lambda local: invite(local, body="hello\r\nworld\r\n"),
}


async def final_reply(peer: UdpPeer, message: str | bytes, timeout: float = 3.0) -> str | None:
    peer.send(message, ENGINE)
    return await peer.reply(timeout)


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_malformed_request_gets_a_4xx(carrier: None, case: str) -> None:
    async with UdpPeer(CARRIER) as peer:
        make = BAD[case]
        assert callable(make)
        status = await final_reply(peer, make((CARRIER, peer.port)))
    assert status is not None, f"{case}: no answer at all"
    code = int(status.split()[1])
    assert 400 <= code < 500, f"{case}: {status}"


async def test_an_invite_bigger_than_8_kb_is_read_whole(carrier: None) -> None:
    body = sdp(extra_lines=200)  # about 15 KB
    async with UdpPeer(CARRIER) as peer:
        message = invite((CARRIER, peer.port), body=body)
        assert len(message.encode()) > 12_000
        status = await final_reply(peer, message)
    # A carrier calling a number nobody has: refused by routing, which means parsed.
    assert status is not None, "no answer to a 15 KB INVITE"
    assert int(status.split()[1]) in (403, 404), status


async def test_the_engine_keeps_answering_during_a_stream_of_bad_invites(
    carrier: None,
) -> None:
    """Four bad INVITEs a second for 4 s; an OPTIONS probe every 100 ms (the edge's
    dispatcher gives an engine 2 s): every probe is answered."""
    answered = sent = 0
    async with UdpPeer(CARRIER) as bad, UdpPeer(PROBE) as probe:

        async def stream() -> None:
            for _ in range(16):
                bad.send(non_utf8((CARRIER, bad.port)), ENGINE)
                bad.send(invite((CARRIER, bad.port), body=sdp(), length=9999), ENGINE)
                bad.send(invite((CARRIER, bad.port)).replace("UDP 127.0.0.31", "UDP "), ENGINE)
                await asyncio.sleep(0.25)  # the load's own pace, not a synchronisation

        task = asyncio.create_task(stream())
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            sent += 1
            options = request("OPTIONS", f"sip:127.0.0.1:{ENGINE_PORT}", (PROBE, probe.port))
            status = await final_reply(probe, options, timeout=2.0)
            answered += status is not None and status.startswith("SIP/2.0 200")
        await task
    assert sent >= 10 and answered == sent, f"{answered} of {sent} probes answered"
