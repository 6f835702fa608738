"""Hand-made SIP over UDP for edge tests: a request with a bounded wait for its reply,
and a fake engine node that records what Kamailio sends it."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any


def request(
    method: str,
    ruri: str,
    local: tuple[str, int],
    user_agent: str = "tgpbx-test",
    extra: str = "",
    call_id: str | None = None,
) -> str:
    tag = secrets.token_hex(6)
    host, port = local
    return (
        f"{method} {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{tag};rport\r\n"
        f"From: <sip:probe@{host}>;tag={tag}\r\nTo: <{ruri}>\r\n"
        f"Call-ID: {call_id or tag}@{host}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:probe@{host}:{port}>\r\n"
        f"User-Agent: {user_agent}\r\n{extra}Content-Length: 0\r\n\r\n"
    )


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.queue.put_nowait(data.decode(errors="replace"))


class UdpPeer:
    """A UDP socket that sends raw SIP and waits (bounded) for what comes back."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host, self.port = host, port
        self.transport: asyncio.DatagramTransport | None = None
        self.proto = _Collector()

    async def __aenter__(self) -> UdpPeer:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self.proto, local_addr=(self.host, self.port)
        )
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.transport is not None:
            self.transport.close()

    def send(self, text: str | bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode() if isinstance(text, str) else text, to)

    async def reply(self, timeout: float = 2.0) -> str | None:
        """The next final response's status line, or None if nothing came in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await asyncio.wait_for(self.proto.queue.get(), left)
            except TimeoutError:
                return None
            status = msg.split("\r\n", 1)[0]
            if status.startswith("SIP/2.0 ") and not status.startswith("SIP/2.0 1"):
                return status
        return None


class FakeEngine(asyncio.DatagramProtocol):
    """Answers OPTIONS (dispatcher probes) with 200 and every INVITE with 486, keeping it;
    keeps the responses to requests sent from its socket."""

    def __init__(self) -> None:
        self.invites: asyncio.Queue[str] = asyncio.Queue()
        self.responses: asyncio.Queue[str] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport is not a registered DatagramTransport subclass.
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        msg = data.decode(errors="replace")
        method = msg.split(" ", 1)[0]
        if method == "SIP/2.0":
            self.responses.put_nowait(msg)
        elif method == "INVITE":
            self.invites.put_nowait(msg)
            self._answer(msg, addr, "486 Busy Here")
        elif method == "OPTIONS":
            self._answer(msg, addr, "200 OK")

    def _answer(self, msg: str, addr: tuple[str | Any, int], status: str) -> None:
        keep = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")
        lines = [ln for ln in msg.split("\r\n")[1:] if ln.split(":", 1)[0].strip().lower() in keep]
        lines = [ln + ";tag=engine" if ln.lower().startswith(("to:", "t:")) else ln for ln in lines]
        assert self.transport is not None
        self.transport.sendto(
            (
                f"SIP/2.0 {status}\r\n" + "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            addr,
        )


def send_spoofed(payload: bytes, source: tuple[str, int], to: tuple[str, int]) -> None:
    """One UDP datagram whose IPv4 source is `source` (a raw socket: needs root), as an
    attacker forging the SIP edge's or an engine's address would send it."""
    import socket
    import struct

    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", source[1], to[1], udp_len, 0) + payload  # checksum 0: none
    total = 20 + udp_len
    src, dst = socket.inet_aton(source[0]), socket.inet_aton(to[0])
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    words = struct.unpack("!10H", header)
    check = sum(words)
    check = (check & 0xFFFF) + (check >> 16)
    check = ~((check & 0xFFFF) + (check >> 16)) & 0xFFFF
    header = header[:10] + struct.pack("!H", check) + header[12:]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(header + udp, (to[0], 0))
