"""A datagram forged with the SIP edge's address must not be trusted by the engine
(issue 18.6): without the secret the edge adds (`X-PBX-Auth`), a request from the edge's
socket is refused before call logic sees it, so no forged identity ever makes a call."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from pbx.app import Service
from tests.conftest import EDGE_PORT, ENGINE_PORT
from tests.support.rawsip import UdpPeer, request, send_spoofed

pytestmark = pytest.mark.e2e

EDGE = ("127.0.0.1", EDGE_PORT)
ENGINE = ("127.0.0.1", ENGINE_PORT)


def forged_invite(call_id: str, extra: str) -> bytes:
    """What the edge sends for an authenticated phone of company 1 dialling out."""
    text = request(
        "INVITE",
        f"sip:79161234567@c1.pbx.test:{ENGINE_PORT}",
        EDGE,
        extra=f"X-PBX-User: 101\r\nX-PBX-Domain: c1.pbx.test\r\n{extra}",
        call_id=call_id,
    )
    return text.encode()


async def test_requests_forged_with_the_edges_address_reach_no_call_logic(
    pbx: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = pbx.adapter
    assert adapter is not None and pbx.settings.edge_secret
    seen: list[str] = []
    tm = adapter.global_config["_sip_tm"]
    original = tm.req_cb  # where sippy hands every new request to the engine

    def spy(req: Any, sip_t: Any) -> Any:
        seen.append(str(req.getHFBody("call-id")))
        return original(req, sip_t)

    monkeypatch.setattr(tm, "req_cb", spy)
    forged = {
        "no secret": forged_invite(f"forged-a-{secrets.token_hex(4)}", ""),
        "a wrong one": forged_invite(
            f"forged-b-{secrets.token_hex(4)}", "X-PBX-Auth: 0123456789abcdef0123\r\n"
        ),
    }
    for payload in forged.values():
        send_spoofed(payload, EDGE, ENGINE)
    # The engine reads its socket in order: once a later OPTIONS is answered, the forged
    # datagrams have been handled (or refused).
    async with UdpPeer("127.0.0.1") as peer:  # the edge's host, as its dispatcher probes
        peer.send(
            request("OPTIONS", f"sip:127.0.0.1:{ENGINE_PORT}", ("127.0.0.1", peer.port)), ENGINE
        )
        assert (await peer.reply(3.0) or "").startswith("SIP/2.0 200")
    leaked = [case for case, p in forged.items() if any(c in p.decode() for c in seen)]
    assert leaked == [], f"forged INVITEs reached call logic: {leaked}"
